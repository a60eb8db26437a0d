import { spawn } from "node:child_process";

import type { Sandbox } from "../sandbox/sandbox.js";

/** How a child process ended. */
export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when it ran past its time limit and was killed. */
  timedOut: boolean;
  /** The last part of stdout and stderr, interleaved as they arrived. */
  output: string;
  /** The tail of stdout alone (for tools that print a JSON report there). */
  stdout: string;
  durationMs: number;
}

/** Options for {@link runProcess}. */
export interface RunProcessOptions {
  cwd: string;
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
  /** Run `command` through the shell (configured commands are shell lines). */
  shell?: boolean;
  /** How much output to keep (the tail). */
  maxOutputChars?: number;
  /** Runs the command inside this sandbox (model-influenced code); unset runs it directly. */
  sandbox?: Sandbox;
}

/**
 * Runs a command with a time limit, keeping the tail of its output. On timeout the whole process
 * group is killed, so test runners cannot leave workers behind.
 */
export function runProcess(
  command: string,
  args: readonly string[],
  options: RunProcessOptions,
): Promise<ProcessResult> {
  const started = performance.now();
  const max = options.maxOutputChars ?? 200_000;
  const env = options.env ?? childEnv();
  const prepared = options.sandbox?.prepare(command, args, options.shell ?? false, options.cwd, env);
  return new Promise<ProcessResult>((resolve, reject) => {
    const child = spawn(prepared?.command ?? command, prepared?.args ?? args, {
      cwd: options.cwd,
      env: prepared?.env ?? env,
      shell: prepared?.viaShell === true ? false : (options.shell ?? false),
      stdio: ["ignore", "pipe", "pipe"],
      detached: process.platform !== "win32",
    });
    let output = "";
    let stdout = "";
    const append = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.length > max * 2) output = output.slice(-max);
    };
    child.stdout.on("data", (chunk: Buffer) => {
      append(chunk);
      stdout += chunk.toString();
      if (stdout.length > max * 2) stdout = stdout.slice(-max);
    });
    child.stderr.on("data", append);
    let timedOut = false;
    const kill = (): void => {
      try {
        if (child.pid !== undefined && process.platform !== "win32") process.kill(-child.pid, "SIGKILL");
        else child.kill("SIGKILL");
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, options.timeoutMs);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      // A finished runner may leave grandchildren (workers) in its group: end them too.
      if (!timedOut) kill();
      resolve({
        code,
        signal,
        timedOut,
        output: output.slice(-max),
        stdout: stdout.slice(-max),
        durationMs: performance.now() - started,
      });
    });
  }).finally(() => prepared?.cleanup());
}

/**
 * The environment for checks: Builder's own, minus variables that would make a child test runner
 * think it runs inside another one (VITEST*, TEST, JEST_WORKER_ID, NODE_TEST_CONTEXT).
 */
export function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(VITEST.*|JEST_WORKER_ID|NODE_TEST_CONTEXT|TEST)$/.test(key)) continue;
    env[key] = value;
  }
  return { ...env, CI: "1", FORCE_COLOR: "0", NO_COLOR: "1", ...extra };
}
