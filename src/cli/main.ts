#!/usr/bin/env node
import { CommanderError } from "commander";
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

/** `node dist/cli/main.js __engine-daemon <spec file>` is a resident engine (spawned by `builder run`), not a command. */
async function engineDaemon(specFile: string): Promise<number> {
  const { readFile, unlink } = await import("node:fs/promises");
  const { runEngineDaemon } = await import("../backends/resident/engine-daemon.js");
  const spec = JSON.parse(await readFile(specFile, "utf8")) as Parameters<typeof runEngineDaemon>[0];
  await unlink(specFile).catch(() => undefined);
  await runEngineDaemon(spec);
  return Number(process.exitCode ?? 0);
}

(process.argv[2] === "__engine-daemon" ? engineDaemon(process.argv[3] ?? "") : main(process.argv)).then(
  (code) => {
    if (code === 0) process.exitCode = 0;
    else exitAfterFlush(code);
  },
  (error: unknown) => exitAfterFlush(reportFailure(error)),
);
