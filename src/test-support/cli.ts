import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The built CLI entry point (tests run after `npm run build`). */
export const CLI_PATH = fileURLToPath(new URL("../../dist/cli/main.js", import.meta.url));

/** What a CLI run produced. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The host folder of this test process's commands unless a test names its own (BUILDER_ENGINE_DIR): a
 * `builder serve` or a host a test starts never uses, nor meets, the user's own Builder host.
 */
export const TEST_HOST_DIR = mkdtempSync(path.join(tmpdir(), "bh-"));

/** Runs `builder …` as a real subprocess, optionally feeding stdin. */
export function runCli(
  args: string[],
  options: {
    stdin?: string;
    cwd?: string;
    env?: NodeJS.ProcessEnv;
    timeoutMs?: number;
    /** Sees stderr as it comes (a test that acts while the command runs). */
    onStderr?: (chunk: string) => void;
  } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd: options.cwd,
      // In-process unless a test asks for the Builder host (BUILDER_KEEP_ALIVE and BUILDER_ENGINE_DIR):
      // the suite must not leave hosts behind, nor share them through the user's runtime folder.
      env: {
        ...process.env,
        BUILDER_LOG_LEVEL: "info",
        BUILDER_KEEP_ALIVE: "0",
        BUILDER_ENGINE_DIR: TEST_HOST_DIR,
        ...options.env,
      },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      options.onStderr?.(chunk.toString());
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 110_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
    else child.stdin.end();
  });
}

/** Parses every JSON line of a stream, skipping lines that are not JSON (banners, reports). */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .flatMap((line) => {
      try {
        return [JSON.parse(line) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
