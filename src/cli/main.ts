#!/usr/bin/env node
import { CommanderError } from "commander";
import { HOST_DAEMON_ARG } from "../backends/host/host-files.js";
import { reportFailure } from "./handle-error.js";
import { createProgram } from "./program.js";

async function main(argv: string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version exit with 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? 0 : 2;
    }
    return reportFailure(error);
  }
}

/**
 * After a failure the process exits once stdout and stderr are flushed: work that cannot be cancelled
 * (a model download's retries, a native load) must not keep a failed command running.
 */
function exitAfterFlush(code: number): void {
  process.exitCode = code;
  process.stdout.write("", () => process.stderr.write("", () => process.exit(code)));
}

/**
 * `node dist/cli/main.js __builder-host <spec file>` is the background Builder host (started by a
 * command that needs the model), not a command. It exits once it has stopped.
 */
async function backgroundHost(specFile: string): Promise<number> {
  const { readFile, unlink } = await import("node:fs/promises");
  const { runBackgroundHost } = await import("../server/host-process.js");
  const spec = JSON.parse(await readFile(specFile, "utf8")) as Parameters<typeof runBackgroundHost>[0];
  await unlink(specFile).catch(() => undefined);
  await runBackgroundHost(spec);
  return 0;
}

(process.argv[2] === HOST_DAEMON_ARG ? backgroundHost(process.argv[3] ?? "") : main(process.argv)).then(
  (code) => {
    if (code === 0 && process.argv[2] === HOST_DAEMON_ARG) exitAfterFlush(0);
    else if (code === 0) process.exitCode = 0;
    else exitAfterFlush(code);
  },
  (error: unknown) => exitAfterFlush(reportFailure(error)),
);
