import { readFile, readdir, unlink } from "node:fs/promises";
import path from "node:path";
import type { EngineInfoFile } from "./engine-daemon.js";
import { processAlive } from "./engine-paths.js";
import { EngineConnection } from "./engine-connection.js";
import type { EngineStatus } from "./protocol.js";

/** A resident engine as `builder ps` shows it: its info file and, when it answered, its live status. */
export interface ResidentEngine {
  info: EngineInfoFile;
  status?: EngineStatus;
  /** Why the status is missing (the engine did not answer). */
  problem?: string;
}

/** How long `ps` and `stop` wait for one engine to answer. */
const ASK_TIMEOUT_MS = 3000;

/**
 * The resident engines in `dir`. Leftovers of engines that are gone (a killed process's info and
 * socket files) are removed on the way.
 */
export async function listEngines(dir: string): Promise<ResidentEngine[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const engines: ResidentEngine[] = [];
  for (const name of names.filter((n) => n.endsWith(".json")).sort()) {
    let info: EngineInfoFile;
    try {
      info = JSON.parse(await readFile(path.join(dir, name), "utf8")) as EngineInfoFile;
    } catch {
      continue;
    }
    if (!processAlive(info.pid)) {
      await Promise.all([path.join(dir, name), info.socket].map((f) => unlink(f).catch(() => undefined)));
      continue;
    }
    try {
      const connection = await EngineConnection.open(info.socket, ASK_TIMEOUT_MS);
      try {
        const reply = await connection.request({ type: "status" });
        engines.push(
          reply.type === "status"
            ? { info, status: reply.status }
            : { info, problem: `unexpected reply ${reply.type}` },
        );
      } finally {
        connection.close();
      }
    } catch (error) {
      engines.push({ info, problem: `not answering: ${(error as Error).message}` });
    }
  }
  return engines;
}

/** Whether `engine` runs the model `filter` names (its path, a path relative to `cwd`, or its file name). */
export function matchesModel(engine: ResidentEngine, filter: string | undefined, cwd: string): boolean {
  if (filter === undefined) return true;
  const model = engine.info.model;
  return (
    model === path.resolve(cwd, filter) || path.basename(model) === filter || path.basename(model, ".gguf") === filter
  );
}

/**
 * Stops an engine: asks it over its socket, then waits for the process to exit; one that does not
 * answer or exit gets SIGTERM, then SIGKILL.
 */
export async function stopEngine(engine: ResidentEngine): Promise<void> {
  try {
    const connection = await EngineConnection.open(engine.info.socket, ASK_TIMEOUT_MS);
    await connection.request({ type: "stop" }).catch(() => undefined);
    connection.close();
  } catch {
    signal(engine.info.pid, "SIGTERM");
  }
  if (await exited(engine.info.pid, 10_000)) return;
  signal(engine.info.pid, "SIGTERM");
  if (await exited(engine.info.pid, 5_000)) return;
  signal(engine.info.pid, "SIGKILL");
  await exited(engine.info.pid, 5_000);
  await unlink(engine.info.socket).catch(() => undefined);
  await unlink(engine.info.socket.replace(/\.sock$/, ".json")).catch(() => undefined);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function exited(pid: number, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!processAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !processAlive(pid);
}
