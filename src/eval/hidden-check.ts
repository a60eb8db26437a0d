import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { writeTsLoader } from "../verify/node-test-loader.js";
import { resolveSandboxSettings, type SandboxSettings } from "../config/verify-settings.js";
import { Sandbox } from "../sandbox/sandbox.js";
import { childEnv, runProcess } from "../verify/process.js";
import { resolveWorkspacePath } from "../verify/proposed-files.js";
import type { CaseFile } from "./case.js";

/** How the hidden check ended. */
export interface CheckOutcome {
  passed: boolean;
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
  /** The last lines of its output, to see why it failed. */
  outputTail: string;
  /** Why the check ran without a sandbox ("tests ran unsandboxed: …"); undefined when sandboxed. */
  unsandboxed?: string;
}

/**
 * Places the hidden files into the workspace copy (over whatever the answer wrote there) and runs
 * the check command through the shell: exit 0 passes. `{node}` in the command is Node with a
 * TypeScript loader (Builder's own compiler), so suites can keep `.ts` tests under `node --test`.
 * The command runs in the sandbox `sandboxSettings` asks for: it runs code the model wrote.
 */
export async function runHiddenCheck(
  root: string,
  hidden: readonly CaseFile[],
  command: string,
  timeoutMs: number,
  sandboxSettings: SandboxSettings = resolveSandboxSettings(undefined, undefined),
): Promise<CheckOutcome> {
  for (const file of hidden) {
    const target = path.join(root, ...resolveWorkspacePath(root, file.path).split("/"));
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, file.content);
  }
  const loaderDir = await mkdtemp(path.join(tmpdir(), "builder-eval-loader-"));
  try {
    const sandbox = Sandbox.open(sandboxSettings, {
      writable: [root],
      tempDir: path.join(loaderDir, "tmp"),
      secretRoots: [root],
    });
    const shellCommand = command.includes("{node}")
      ? command.replaceAll("{node}", `${quote(process.execPath)} --import ${quote(await writeTsLoader(loaderDir))}`)
      : command;
    const result = await runProcess(shellCommand, [], {
      cwd: root,
      timeoutMs,
      shell: true,
      env: childEnv(),
      maxOutputChars: 4000,
      sandbox,
    });
    return {
      passed: result.code === 0 && !result.timedOut,
      exitCode: result.code,
      timedOut: result.timedOut,
      durationMs: result.durationMs,
      outputTail: result.output
        .split("\n")
        .filter((l) => l.trim() !== "")
        .slice(-15)
        .join("\n"),
      unsandboxed: sandbox.note,
    };
  } finally {
    await rm(loaderDir, { recursive: true, force: true });
  }
}

function quote(value: string): string {
  return `'${value.replace(/'/g, "'\\''")}'`;
}
