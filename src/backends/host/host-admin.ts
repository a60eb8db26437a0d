import path from "node:path";
import { isSameProcess, processAlive } from "../../system/process-identity.js";
import {
  hostMarker,
  hostPaths,
  readHostRecord,
  recordIsLive,
  removeStaleFiles,
  staleReason,
  type HostPaths,
  type HostRecord,
} from "./host-files.js";
import { callHost } from "./host-http.js";

/** How long `ps` and `stop` wait for the host to answer. */
const ASK_MS = 3_000;

/** A model the host holds, as `/api/ps` lists it (Ollama's fields and Builder's). */
export interface LoadedModel {
  name: string;
  model_path: string;
  pid: number;
  context_length: number;
  sequences: number;
  busy: number;
  queued: number;
  size: number;
  size_vram: number;
  ram_bytes: number;
  weights_bytes: number;
  context_bytes: number;
  users: Array<{ client: string; since: string }>;
  expires_at: string;
  loaded_at: string;
  device: string;
}

/** The machine's Builder host as `builder ps` sees it. */
export interface HostStatus {
  paths: HostPaths;
  /** The live host's record; undefined when none runs. */
  record?: HostRecord;
  /** What `/api/ps` says about the host process (RSS); undefined when it did not answer. */
  host?: Record<string, unknown>;
  models: LoadedModel[];
  /** Why the host's models are missing (it did not answer), or what was cleaned up. */
  problem?: string;
  /** A stale record found (and removed): its process is gone, or its pid now belongs to another process. */
  stale?: string;
}

/**
 * The host in `dir`: its record and, when it answers, its loaded models. The leftovers of a host
 * that is gone (its record and socket) are removed on the way; nothing is ever signalled.
 */
export async function hostStatus(dir: string): Promise<HostStatus> {
  const paths = hostPaths(dir);
  const record = await readHostRecord(paths);
  if (record === undefined) return { paths, models: [] };
  if (record === "unreadable" || !recordIsLive(record)) {
    const stale = record === "unreadable" ? "an unreadable host record" : staleReason(record);
    await removeStaleFiles(paths, record === "unreadable" ? undefined : record);
    return { paths, models: [], stale };
  }
  try {
    const reply = await callHost(paths.socket, { method: "GET", path: "/api/ps", idleMs: ASK_MS });
    const models = (reply.body.models ?? []) as LoadedModel[];
    return { paths, record, host: reply.body.host as Record<string, unknown> | undefined, models };
  } catch (error) {
    return { paths, record, models: [], problem: `not answering: ${(error as Error).message}` };
  }
}

/** Whether `model` is the one `filter` names (its path, a path relative to `cwd`, its file name, or its name). */
export function matchesModel(model: LoadedModel, filter: string, cwd: string): boolean {
  const file = model.model_path;
  return (
    file === path.resolve(cwd, filter) ||
    path.basename(file) === filter ||
    path.basename(file, ".gguf") === filter ||
    model.name === filter ||
    model.name === `${filter}:latest`
  );
}

/** Unloads one model from the host (Ollama's `keep_alive: 0`); running requests on it end first. */
export async function unloadModel(status: HostStatus, model: LoadedModel): Promise<void> {
  await callHost(status.paths.socket, {
    method: "POST",
    path: "/api/generate",
    body: { model: model.model_path, keep_alive: 0 },
    idleMs: 60_000,
  });
}

/**
 * Stops the host: asks it over its socket, then waits for the process to exit; one that does not
 * answer or exit gets SIGTERM, then SIGKILL, each only while its pid still is the host that wrote
 * the record (same start time): a pid reused by another process is never signalled.
 */
export async function stopHost(status: HostStatus): Promise<"stopped" | "gone"> {
  const record = status.record;
  if (!record) return "gone";
  const asked = await callHost(status.paths.socket, {
    method: "POST",
    path: "/builder/shutdown",
    body: { drain: false },
    idleMs: ASK_MS,
  }).then(
    () => true,
    () => false,
  );
  if (!asked) signalIfSame(record, "SIGTERM");
  if (await exited(record, 15_000)) return "stopped";
  signalIfSame(record, "SIGTERM");
  if (await exited(record, 5_000)) return "stopped";
  signalIfSame(record, "SIGKILL");
  await exited(record, 5_000);
  await removeStaleFiles(status.paths, record);
  return "stopped";
}

/** Waits for the host process to be gone (a background host exits by itself once nothing is loaded). */
export async function exited(record: HostRecord, withinMs: number): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  while (Date.now() < deadline) {
    if (!recordIsLive(record)) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return !recordIsLive(record);
}

function signalIfSame(record: HostRecord, signal: NodeJS.Signals): void {
  if (!processAlive(record.pid) || !isSameProcess(record, hostMarker(record.kind))) return;
  try {
    process.kill(record.pid, signal);
  } catch {
    // Already gone.
  }
}
