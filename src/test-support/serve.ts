import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { CLI_PATH } from "./cli.js";

/** A `builder serve` subprocess started by a test. */
export interface ServeProcess {
  url: string;
  model: string;
  child: ChildProcess;
  /** Everything it wrote on stderr so far (JSON log lines). */
  stderr(): string;
  /** Stops it with SIGTERM and waits for it to exit. */
  stop(): Promise<void>;
  /** Kills it at once (SIGKILL), as a crash would. */
  kill(): Promise<void>;
}

/**
 * Starts `builder serve` (the built CLI) on a free loopback port with one thread and a 4,096-token
 * context, and waits for the line on stdout that says where it listens. Each gets a host folder of its
 * own (as if run by another user) unless `env` names one: a test may run several servers at once.
 * `cwd`: the folder it starts in (its builder.config.json or .ollamarc apply there).
 */
export function startServe(
  modelPath: string,
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
  cwd?: string,
): Promise<ServeProcess> {
  const args = [
    CLI_PATH,
    "serve",
    "--model",
    modelPath,
    "--port",
    "0",
    "--threads",
    "1",
    "--num-ctx",
    "4096",
    ...extraArgs,
  ];
  const child = spawn(process.execPath, args, {
    cwd,
    env: {
      ...process.env,
      BUILDER_LOG_LEVEL: "info",
      BUILDER_ENGINE_DIR: mkdtempSync(path.join(tmpdir(), "bs-")),
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`builder serve did not start within 60 s. stderr:\n${stderr}`));
    }, 60_000);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`builder serve exited with ${String(code)} before listening. stderr:\n${stderr}`));
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (!line) return;
      clearTimeout(timer);
      const info = JSON.parse(line) as { url: string; model: string };
      resolve({
        url: info.url,
        model: info.model,
        child,
        stderr: () => stderr,
        stop: () => stopWith("SIGTERM"),
        kill: () => stopWith("SIGKILL"),
      });
    });
  });
}
