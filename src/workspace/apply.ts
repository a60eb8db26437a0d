import { lstat, realpath, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { ApplyError, FileChangedError } from "../errors/errors.js";
import { getLogger } from "../telemetry/logger.js";
import { checkedBuilderPath, writeBuilderFile } from "./builder-dir.js";
import {
  backupDir,
  tempPathFor,
  writeManifest,
  type BackupManifest,
  type FileAction,
  type ManifestEntry,
} from "./backups.js";
import { unifiedDiff } from "./diff.js";
import { contentAfter, type FileEdit } from "./file-edits.js";
import { sha256, type FileState } from "./file-state.js";
import { sweepLeftovers } from "./leftovers.js";
import { removeEmptyDirInside } from "./safe-fs.js";
import type { WorkspaceSandbox, WorkspacePath } from "./sandbox.js";
import { withWorkspaceLock, type WorkspaceLockOptions } from "./workspace-lock.js";

/** Points where tests interrupt an apply (throw to fail, or kill the process to simulate a crash). */
export interface ApplyHooks {
  /** Backups and the manifest are durable; no target has been touched. */
  afterBackup?: () => void | Promise<void>;
  /** A target's new content is complete in its temp file, not yet renamed over the target. */
  beforeRename?: (relative: string) => void | Promise<void>;
  /** A target now holds its new content (or is deleted). */
  afterWrite?: (relative: string) => void | Promise<void>;
}

/** Options for {@link applyEdits}. */
export interface ApplyOptions {
  sandbox: WorkspaceSandbox;
  /** Names the backup folder `.builder/backups/<run-id>/`; must not exist yet. */
  runId: string;
  /** Compute and return the diff; write nothing. */
  dryRun?: boolean;
  /** Apply even when files changed since they were read (their content is still backed up). */
  force?: boolean;
  source?: BackupManifest["source"];
  undoes?: string;
  hooks?: ApplyHooks;
  logger?: Logger;
  /** How the workspace lock is waited for (see {@link withWorkspaceLock}). */
  lock?: WorkspaceLockOptions;
}

/** What happened (or, in a dry run, would happen) to one file. */
export interface AppliedFile {
  path: string;
  action: FileAction | "unchanged";
}

/** The result of {@link applyEdits}. */
export interface ApplyResult {
  runId: string;
  dryRun: boolean;
  files: AppliedFile[];
  /** Unified diff of every change ("" when nothing changes). */
  diff: string;
  /** Where the previous contents were saved; undefined in dry runs and when nothing changed. */
  backupDir?: string;
  /** Files that changed since they were read: written anyway with `force`, only listed in a dry run. */
  stale: string[];
}

interface PlannedChange {
  target: WorkspacePath;
  action: FileAction | "unchanged";
  before: FileState;
  after: Buffer | null;
  mode: number | undefined;
}

/**
 * Applies file edits so that nothing is lost: every path is checked to be inside the workspace and
 * writable, stale files are refused (unless forced), the previous contents and a manifest are saved
 * under `.builder/backups/<run-id>/` before any file changes, and each file is written atomically.
 * If a write fails, the files already written are restored from the backups. Applies and undos in
 * one workspace are serialised by the workspace lock, and each file's expected hash is checked under
 * it, so of two concurrent applies to one file the second fails with FILE_CHANGED. A dry run takes no
 * lock and writes nothing, so it works in a read-only workspace.
 */
export async function applyEdits(edits: readonly FileEdit[], options: ApplyOptions): Promise<ApplyResult> {
  if (options.dryRun) return applyEditsLocked(edits, options);
  // Checked before the lock too, so that a refused apply, or one that changes nothing, touches
  // nothing (not even .builder/); the check that counts is repeated under the lock.
  const preview = await planEdits(edits, options);
  if (preview.changes.every((change) => change.action === "unchanged")) return resultOf(preview, options);
  return withWorkspaceLock(
    options.sandbox.root,
    async () => {
      await sweepLeftovers(options.sandbox, options.logger);
      return applyEditsLocked(edits, options);
    },
    options.lock,
  );
}

/**
 * {@link applyEdits} for a caller that already holds the workspace lock (undo holds it from reading
 * the manifest to marking it undone, and sweeps first), or for a dry run.
 */
export async function applyEditsLocked(edits: readonly FileEdit[], options: ApplyOptions): Promise<ApplyResult> {
  const plan = await planEdits(edits, options);
  const changes = plan.changes.filter((change) => change.action !== "unchanged");
  const result = resultOf(plan, options);
  if (options.dryRun || changes.length === 0) return result;
  result.backupDir = await execute(changes, options);
  return result;
}

function resultOf(plan: { changes: PlannedChange[]; stale: string[] }, options: ApplyOptions): ApplyResult {
  const changes = plan.changes.filter((change) => change.action !== "unchanged");
  return {
    runId: options.runId,
    dryRun: options.dryRun === true,
    files: plan.changes.map((change) => ({ path: change.target.relative, action: change.action })),
    diff: changes
      .map((change) =>
        unifiedDiff(
          {
            path: change.target.relative,
            content: change.before.exists ? change.before.content : null,
            mode: change.before.exists ? change.before.mode : undefined,
          },
          { path: change.target.relative, content: change.after, mode: change.mode },
        ),
      )
      .join(""),
    stale: plan.stale,
  };
}

async function planEdits(
  edits: readonly FileEdit[],
  options: ApplyOptions,
): Promise<{ changes: PlannedChange[]; stale: string[] }> {
  const seen = new Map<string, string>();
  const changes: PlannedChange[] = [];
  const stale: string[] = [];
  for (const edit of edits) {
    const target = await options.sandbox.resolveForWrite(edit.path);
    const key = target.relative.toLowerCase();
    if (seen.has(key)) {
      throw new ApplyError(
        `Two edits name the same file (${seen.get(key) ?? ""} and ${target.relative}); nothing was written. Merge them into one edit.`,
        { path: target.relative },
      );
    }
    seen.set(key, target.relative);
    if ((await lstat(target.absolute).catch(() => undefined))?.isSymbolicLink()) {
      throw new ApplyError(
        `${target.relative} is a symbolic link; Builder writes real files only, so nothing was written. Use the path of the file it points to.`,
        { path: target.relative },
      );
    }
    const before = await options.sandbox.readState(target.relative);
    const after = contentAfter(edit, before.exists ? before.content : null);
    const mode =
      after === null
        ? undefined
        : edit.kind === "write" && edit.mode !== undefined
          ? edit.mode
          : before.exists
            ? before.mode
            : undefined;
    const action = actionFor(before, after, mode);
    // A file that already holds what the edit writes (a suggestion applied before) is not stale: nothing to do.
    if (edit.expected !== undefined && edit.expected !== before.hash && action !== "unchanged")
      stale.push(target.relative);
    changes.push({ target, action, before, after, mode });
  }
  if (stale.length > 0 && !options.force && !options.dryRun) {
    throw new FileChangedError(
      `${stale.join(", ")} changed on disk since Builder read ${stale.length === 1 ? "it" : "them"} for the prompt; nothing was written. ` +
        `Re-run the task so the model sees the current code, or pass --force to overwrite (the current content is backed up first).`,
      { paths: stale },
    );
  }
  return { changes, stale };
}

function actionFor(before: FileState, after: Buffer | null, mode: number | undefined): PlannedChange["action"] {
  if (!before.exists) return after === null ? "unchanged" : "create";
  if (after === null) return "delete";
  return before.content.equals(after) && (mode === undefined || mode === before.mode) ? "unchanged" : "modify";
}

/** Backs up, records the manifest, writes; returns the backup folder. */
async function execute(changes: readonly PlannedChange[], options: ApplyOptions): Promise<string> {
  const logger = options.logger ?? getLogger();
  const root = options.sandbox.root;
  const dir = await checkedBuilderPath(root, backupDir(root, options.runId));
  if (await exists(dir))
    throw new ApplyError(`Run ${options.runId} already has backups in ${dir}; use a new run id.`, {
      run_id: options.runId,
    });

  const entries = await backUpFiles(changes, root, dir, options.runId);
  const now = new Date().toISOString();
  const manifest: BackupManifest = {
    version: 1,
    run_id: options.runId,
    source: options.source ?? "apply",
    ...(options.undoes ? { undoes: options.undoes } : {}),
    status: "applying",
    created_at: now,
    updated_at: now,
    created_dirs: await missingDirs(changes, root),
    entries,
  };
  await writeManifest(root, manifest);
  await options.hooks?.afterBackup?.();

  const done: PlannedChange[] = [];
  try {
    await writeChanges(changes, entries, options, done);
  } catch (error) {
    const failed = changes[done.length]?.target.relative ?? "a file";
    const rollback = await rollBack(done, manifest, options.sandbox, dir);
    if (rollback.length > 0) {
      throw new ApplyError(
        `Writing ${failed} failed (${(error as Error).message}), and restoring ${rollback.join(", ")} failed too. ` +
          `The previous contents are in ${dir}; run: builder undo ${options.runId}`,
        { run_id: options.runId, backup_dir: dir },
        { cause: error },
      );
    }
    throw new ApplyError(
      `Writing ${failed} failed (${(error as Error).message}); the files already written were restored, so nothing changed.`,
      { run_id: options.runId },
      { cause: error },
    );
  }
  await writeManifest(root, { ...manifest, status: "applied" });
  const verb = options.source === "undo" ? "restored" : "applied";
  logger.info(
    { run_id: options.runId, files: entries.map((e) => `${e.action} ${e.path}`), backup_dir: dir },
    `${verb} ${entries.length} file change(s); undo with: builder undo ${options.runId}`,
  );
  return dir;
}

/** Copies each existing file into the backup folder; returns the manifest entries, one per change. */
async function backUpFiles(
  changes: readonly PlannedChange[],
  root: string,
  dir: string,
  runId: string,
): Promise<ManifestEntry[]> {
  const entries: ManifestEntry[] = [];
  for (const change of changes) {
    const relative = change.target.relative;
    let before: ManifestEntry["before"] = null;
    if (change.before.exists) {
      const backup = `files/${relative}`;
      await writeBuilderFile(root, path.join(dir, ...backup.split("/")), change.before.content, {
        mode: change.before.mode,
      });
      before = { sha256: change.before.hash, mode: change.before.mode, backup };
    }
    const temp = change.after === null ? undefined : tempPathFor(relative, runId);
    entries.push({
      path: relative,
      action: change.action as FileAction,
      before,
      after: change.after === null ? null : { sha256: sha256(change.after) },
      temp,
    });
  }
  return entries;
}

/** Writes or removes each file in order, pushing each one finished onto `done` (read by the rollback). */
async function writeChanges(
  changes: readonly PlannedChange[],
  entries: readonly ManifestEntry[],
  options: ApplyOptions,
  done: PlannedChange[],
): Promise<void> {
  for (const [index, change] of changes.entries()) {
    const relative = change.target.relative;
    const entry = entries[index] as ManifestEntry;
    if (change.after === null) {
      await options.sandbox.removeFile(relative);
    } else {
      // Through the sandbox: the folder checked is the folder written (no link swapped in between).
      await options.sandbox.writeFile(relative, change.after, {
        mode: change.mode,
        tempName: entry.temp ? path.posix.basename(entry.temp) : undefined,
        beforeRename: options.hooks?.beforeRename ? () => options.hooks?.beforeRename?.(relative) : undefined,
      });
    }
    done.push(change);
    await options.hooks?.afterWrite?.(relative);
  }
}

/**
 * Puts back the files already written after a failed apply; returns the ones it could not restore.
 * When every file is seen to hold its old content again, nothing changed, so the run's backup folder
 * is removed; otherwise it stays for `builder undo`.
 */
async function rollBack(
  done: readonly PlannedChange[],
  manifest: BackupManifest,
  sandbox: WorkspaceSandbox,
  dir: string,
): Promise<string[]> {
  const root = sandbox.root;
  const failed: string[] = [];
  for (const change of [...done].reverse()) {
    try {
      if (change.before.exists)
        await sandbox.writeFile(change.target.relative, change.before.content, { mode: change.before.mode });
      else await sandbox.removeFile(change.target.relative);
      if ((await sandbox.readState(change.target.relative)).hash !== change.before.hash)
        failed.push(change.target.relative);
    } catch {
      failed.push(change.target.relative);
    }
  }
  for (const entry of manifest.entries) if (entry.temp) await sandbox.removeFile(entry.temp).catch(() => undefined);
  await removeEmptyDirs(root, manifest.created_dirs);
  if (failed.length === 0) await rm(dir, { recursive: true, force: true });
  return failed;
}

/** Folders that creating the planned files will create, parents first. */
async function missingDirs(changes: readonly PlannedChange[], root: string): Promise<string[]> {
  const missing = new Set<string>();
  for (const change of changes) {
    if (change.action !== "create") continue;
    let dir = path.posix.dirname(change.target.relative);
    while (dir !== "." && !missing.has(dir) && !(await exists(path.join(root, ...dir.split("/"))))) {
      missing.add(dir);
      dir = path.posix.dirname(dir);
    }
  }
  return [...missing].sort((a, b) => a.split("/").length - b.split("/").length || a.localeCompare(b));
}

/** Removes the given folders, deepest first, where they are empty. */
export async function removeEmptyDirs(root: string, dirs: readonly string[]): Promise<void> {
  const realRoot = await realpath(root);
  // In the checked parent folder, so a folder swapped for a link cannot make this remove one elsewhere;
  // one that is not empty (someone put files there) or already gone is left alone.
  for (const dir of [...dirs].reverse()) await removeEmptyDirInside(realRoot, dir).catch(() => false);
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
