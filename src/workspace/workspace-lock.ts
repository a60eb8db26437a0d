import { randomBytes } from "node:crypto";
import { link, lstat, readFile, rename, rm } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { WorkspaceBusyError } from "../errors/errors.js";
import { checkedBuilderPath, workspaceNotWritable } from "./builder-dir.js";
import { createExclusive } from "./exclusive-create.js";

/** Who holds the workspace lock: what `.builder/apply.lock` contains. */
export interface LockHolder {
  pid: number;
  host: string;
  started_at: string;
  /** The builder subcommand (run, apply, undo). */
  command: string;
}

/** Options for {@link withWorkspaceLock}. */
export interface WorkspaceLockOptions {
  /** How long to wait for a live holder to let go (30 s): an apply or undo takes seconds. */
  waitMs?: number;
  /** A lock older than this is stale even if its pid is alive (10 min): pids are reused. */
  staleMs?: number;
  /** Called once when the lock is held by someone else and this process starts waiting. */
  onWait?: (holder: LockHolder | undefined) => void;
}

const DEFAULT_WAIT_MS = 30_000;
const DEFAULT_STALE_MS = 10 * 60_000;
const POLL_MS = 50;

/** The lock file that serialises apply and undo in one workspace. */
export function workspaceLockPath(workspaceRoot: string): string {
  return path.join(workspaceRoot, ".builder", "apply.lock");
}

/**
 * Runs `fn` while holding the workspace's apply/undo lock, so that two applies (or an apply and an
 * undo) never interleave their checks and writes. The lock is a file created exclusively, holding the
 * holder's pid, host and start time. A lock whose pid is dead (same host), or older than `staleMs`,
 * is broken; a live one is waited for up to `waitMs`, then {@link WorkspaceBusyError} names its holder.
 */
export async function withWorkspaceLock<T>(
  workspaceRoot: string,
  fn: () => Promise<T>,
  options: WorkspaceLockOptions = {},
): Promise<T> {
  const file = await checkedBuilderPath(workspaceRoot, workspaceLockPath(workspaceRoot));
  const mine = JSON.stringify({
    pid: process.pid,
    host: hostname(),
    started_at: new Date().toISOString(),
    command: lockCommand(),
  } satisfies LockHolder);
  await acquire(workspaceRoot, file, mine, options);
  try {
    return await fn();
  } finally {
    // Removed only if it is still ours: a holder that overstayed `staleMs` may have been replaced.
    if ((await readFile(file, "utf8").catch(() => undefined)) === mine) await rm(file, { force: true });
  }
}

/** The holder's command, for the busy message: the subcommand only, since arguments may hold secrets (hosts with credentials). */
function lockCommand(): string {
  return process.argv[2] ?? "library";
}

async function acquire(
  workspaceRoot: string,
  file: string,
  mine: string,
  options: WorkspaceLockOptions,
): Promise<void> {
  const deadline = Date.now() + (options.waitMs ?? DEFAULT_WAIT_MS);
  let waiting = false;
  for (;;) {
    let created: boolean;
    try {
      created = await createExclusive(file, mine, 0o644);
    } catch (error) {
      throw workspaceNotWritable(workspaceRoot, error) ?? error;
    }
    if (created) return;
    const current = await readLock(file);
    if (!current) continue; // released between our attempt and the read
    if (isStale(current.holder, options.staleMs ?? DEFAULT_STALE_MS)) {
      await breakLock(file, current.ino);
      continue;
    }
    if (Date.now() >= deadline) {
      const h = current.holder;
      throw new WorkspaceBusyError(
        `Another Builder is applying or undoing changes in ${workspaceRoot}: ${h ? `pid ${h.pid} on ${h.host}, since ${h.started_at} (builder ${h.command})` : "its lock file is unreadable"}. ` +
          `Nothing was written. Wait for it to finish and run again; if that process is gone, remove ${file}.`,
        { lock: file, holder: h ?? null },
      );
    }
    if (!waiting) options.onWait?.(current.holder);
    waiting = true;
    await sleep(POLL_MS);
  }
}

async function readLock(file: string): Promise<{ holder: LockHolder | undefined; ino: number } | undefined> {
  const stats = await lstat(file).catch(() => undefined);
  if (!stats) return undefined;
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    const valid =
      typeof value.pid === "number" && typeof value.host === "string" && typeof value.started_at === "string";
    return {
      holder: valid
        ? {
            pid: value.pid as number,
            host: value.host as string,
            started_at: value.started_at as string,
            command: String(value.command ?? ""),
          }
        : undefined,
      ino: stats.ino,
    };
  } catch {
    return { holder: undefined, ino: stats.ino };
  }
}

/** Stale: unreadable (never Builder's: its locks are created complete), a dead pid on this host, or too old. */
function isStale(holder: LockHolder | undefined, staleMs: number): boolean {
  if (!holder) return true;
  if (holder.host === hostname() && !pidAlive(holder.pid)) return true;
  const started = Date.parse(holder.started_at);
  return !Number.isFinite(started) || Math.abs(Date.now() - started) > staleMs;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Moves the stale lock aside (a rename is atomic: of several breakers only one gets it), then checks
 * that what it moved is the lock it judged stale; if a live lock had replaced it meanwhile, it is put
 * back.
 */
async function breakLock(file: string, staleIno: number): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString("hex")}`;
  try {
    await rename(file, aside);
  } catch {
    return; // someone else broke or released it
  }
  const moved = await lstat(aside).catch(() => undefined);
  if (moved && moved.ino !== staleIno) await link(aside, file).catch(() => undefined);
  await rm(aside, { force: true });
}
