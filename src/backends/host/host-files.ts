import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { BuilderConfig } from "../../config/load.js";
import { isSameProcess, ownIdentity, processAlive, type ProcessIdentity } from "../../system/process-identity.js";

/** Longest Unix socket path Linux and macOS accept (sun_path), minus the terminator. */
const MAX_SOCKET_PATH = 103;

/** The hidden first argument that makes `node dist/cli/main.js` the background host instead of the CLI. */
export const HOST_DAEMON_ARG = "__builder-host";

/**
 * The folder of the machine's Builder host (per user): `BUILDER_ENGINE_DIR`, else
 * `$XDG_RUNTIME_DIR/builder`, else `engines/` beside the model cache. Created owner-only (0700).
 */
export function hostDir(config: Pick<BuilderConfig, "modelCacheDir">, env: NodeJS.ProcessEnv = process.env): string {
  if (env.BUILDER_ENGINE_DIR) return path.resolve(env.BUILDER_ENGINE_DIR);
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, "builder");
  return path.join(path.dirname(config.modelCacheDir), "engines");
}

/** Makes `dir` and checks that only its owner can enter it: the socket in it accepts anyone who can reach it. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  if (!info.isDirectory() || (typeof process.getuid === "function" && info.uid !== process.getuid())) {
    throw new Error(`${dir} is not a folder owned by this user`);
  }
  if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** The host's files: its socket, its record (the lock: who holds it), and its log. */
export interface HostPaths {
  dir: string;
  socket: string;
  record: string;
  log: string;
}

/** The host's files in `dir`. */
export function hostPaths(dir: string): HostPaths {
  const socket = path.join(dir, "host.sock");
  if (socket.length > MAX_SOCKET_PATH)
    throw new Error(
      `the host socket path ${socket} is longer than ${MAX_SOCKET_PATH} characters; set BUILDER_ENGINE_DIR to a shorter folder`,
    );
  return { dir, socket, record: path.join(dir, "host.json"), log: path.join(dir, "host.log") };
}

/** What `host.json` says: who holds the host (pid and start time, to prove it before any signal) and where it answers. */
export interface HostRecord extends ProcessIdentity {
  /** `background`: started by a command, exits when nothing is loaded; `serve`: `builder serve` in the foreground. */
  kind: "background" | "serve";
  started_at: string;
  socket: string;
  log: string;
  /** `builder serve`'s TCP address, once it listens. */
  url?: string;
  version: string;
}

/** The command-line marker of a host of this kind (proof of identity where no start time can be read). */
export function hostMarker(kind: HostRecord["kind"]): string {
  return kind === "serve" ? "serve" : HOST_DAEMON_ARG;
}

/** The record in `host.json`; undefined when there is none, "unreadable" when it is not a record (being written, or garbage). */
export async function readHostRecord(paths: HostPaths): Promise<HostRecord | "unreadable" | undefined> {
  let text: string;
  try {
    text = await readFile(paths.record, "utf8");
  } catch {
    return undefined;
  }
  try {
    const record = JSON.parse(text) as HostRecord;
    return Number.isInteger(record.pid) && record.pid > 0 ? record : "unreadable";
  } catch {
    return "unreadable";
  }
}

/** The record's process, when it is still that process (same pid and start time); a reused pid is not it. */
export function recordIsLive(record: HostRecord): boolean {
  return isSameProcess(record, hostMarker(record.kind));
}

/** Why a record is stale, for the log: its process is gone, or its pid now belongs to another process. */
export function staleReason(record: HostRecord): string {
  return processAlive(record.pid)
    ? `pid ${record.pid} now belongs to another process (left alone)`
    : `its process (pid ${record.pid}) is gone`;
}

/**
 * Takes the host lock: creates `host.json` with this process's identity, only if no live host holds
 * it. A record whose process is gone, or whose pid now belongs to another process, is stale and
 * replaced (with the socket it left). Returns the live holder when there is one.
 */
export async function takeHostLock(
  paths: HostPaths,
  kind: HostRecord["kind"],
  version: string,
): Promise<{ taken: true; record: HostRecord } | { taken: false; holder: HostRecord | undefined }> {
  const record: HostRecord = {
    ...ownIdentity(),
    kind,
    started_at: new Date().toISOString(),
    socket: paths.socket,
    log: paths.log,
    version,
  };
  for (let attempt = 0; attempt < 20; attempt++) {
    try {
      await writeFile(paths.record, JSON.stringify(record), { flag: "wx", mode: 0o600 });
      return { taken: true, record };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = await readHostRecord(paths);
    if (holder === "unreadable") {
      // Being written by its creator (look again shortly), or garbage (older than a moment: stale).
      const age = await stat(paths.record).then(
        (info) => Date.now() - info.mtimeMs,
        () => Infinity,
      );
      if (age < 2_000) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        continue;
      }
    } else if (holder && recordIsLive(holder)) {
      return { taken: false, holder };
    }
    await removeStaleFiles(paths, holder === "unreadable" ? undefined : holder);
  }
  return { taken: false, holder: undefined };
}

/** Rewrites the record (this process holds the lock): adds the URL once `builder serve` listens. */
export async function updateHostRecord(paths: HostPaths, record: HostRecord): Promise<void> {
  const temp = `${paths.record}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(record), { mode: 0o600 });
  await rename(temp, paths.record);
}

/**
 * Removes a stale host's record and socket, only while the record is still the one judged stale (a
 * new host may have replaced it meanwhile). Never signals anything.
 */
export async function removeStaleFiles(paths: HostPaths, stale: HostRecord | undefined): Promise<void> {
  const now = await readHostRecord(paths);
  const same =
    stale === undefined
      ? now === "unreadable" || now === undefined
      : now !== "unreadable" && now?.pid === stale.pid && now.startTime === stale.startTime;
  if (!same) return;
  await unlink(paths.record).catch(() => undefined);
  await unlink(paths.socket).catch(() => undefined);
}

/** Removes the record and socket of this process's host (on its way out), if they are still its own. */
export async function releaseHostLock(paths: HostPaths): Promise<void> {
  const now = await readHostRecord(paths);
  if (now === "unreadable" || now?.pid !== process.pid) return;
  await unlink(paths.socket).catch(() => undefined);
  await unlink(paths.record).catch(() => undefined);
}
