import { existsSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { ApplyError, FileChangedError, UsageError } from "../errors/errors.js";
import { applyEditsLocked, removeEmptyDirs, type AppliedFile, type ApplyHooks } from "./apply.js";
import {
  backupDir,
  backupsRoot,
  checkManifestPaths,
  listManifests,
  readManifest,
  writeManifest,
  type BackupManifest,
} from "./backups.js";
import { newRunId } from "../format/run-id.js";
import type { FileEdit } from "./file-edits.js";
import { sha256 } from "./file-state.js";
import { sweepLeftovers } from "./leftovers.js";
import type { WorkspaceSandbox } from "./sandbox.js";
import { withWorkspaceLock, type WorkspaceLockOptions } from "./workspace-lock.js";

/** Options for {@link undoRun}. */
export interface UndoOptions {
  sandbox: WorkspaceSandbox;
  /** The run to undo; default: the newest applied change (a run, or a redo), never a plain undo. */
  runId?: string;
  /** Restore even files that changed after the run wrote them (their current content is backed up first). */
  force?: boolean;
  dryRun?: boolean;
  hooks?: ApplyHooks;
  logger?: Logger;
  /** How the workspace lock is waited for. */
  lock?: WorkspaceLockOptions;
}

/** The result of {@link undoRun}. */
export interface UndoResult {
  /** The run that was undone. */
  runId: string;
  /** The undo's own run id: its backups let `builder undo <this id>` redo the change. Undefined when nothing needed restoring. */
  undoRunId?: string;
  dryRun: boolean;
  files: AppliedFile[];
  diff: string;
}

/**
 * Restores exactly what a run changed: modified and deleted files get their previous bytes and mode
 * back, created files and folders are removed. Works after a crash mid-apply too (each file then
 * holds either its old or its new content). Files changed since the run are refused unless forced.
 * Only manifests this workspace's Builder signed are used, and only paths inside the workspace (see
 * {@link readManifest}). A real undo holds the workspace lock throughout and first sweeps temp files
 * interrupted runs left; a dry run takes no lock and writes nothing.
 */
export async function undoRun(options: UndoOptions): Promise<UndoResult> {
  // Without a backups folder there is nothing to undo, and no reason to create .builder/ for a lock.
  if (options.dryRun || !existsSync(backupsRoot(options.sandbox.root))) return undoHeld(options);
  return withWorkspaceLock(
    options.sandbox.root,
    async () => {
      await sweepLeftovers(options.sandbox, options.logger);
      return undoHeld(options);
    },
    options.lock,
  );
}

async function undoHeld(options: UndoOptions): Promise<UndoResult> {
  const manifest = options.runId
    ? await readManifest(options.sandbox, options.runId)
    : await latestUndoable(options.sandbox);
  refuseFinished(manifest);
  const edits = await restoringEdits(options, manifest);
  const undoRunId = newRunId("undo-");
  const applied = await applyEditsLocked(edits, {
    sandbox: options.sandbox,
    runId: undoRunId,
    dryRun: options.dryRun,
    source: "undo",
    undoes: manifest.run_id,
    hooks: options.hooks,
    logger: options.logger,
  });
  if (!options.dryRun) await closeUndoneRun(options.sandbox, manifest, applied.backupDir ? undoRunId : undefined);
  return {
    runId: manifest.run_id,
    undoRunId: applied.backupDir ? undoRunId : undefined,
    dryRun: applied.dryRun,
    files: applied.files,
    diff: applied.diff,
  };
}

/** Refuses a run that was undone or rolled back already: there is nothing of it left in the tree. */
function refuseFinished(manifest: BackupManifest): void {
  if (manifest.status === "undone") {
    throw new UsageError(
      `Run ${manifest.run_id} was already undone (by ${manifest.undone_by ?? "an earlier undo"}). To redo it, run: builder undo ${manifest.undone_by ?? "<undo run id>"}`,
      { run_id: manifest.run_id },
    );
  }
  if (manifest.status === "rolled-back")
    throw new UsageError(`Run ${manifest.run_id} failed and was rolled back already; there is nothing to undo.`, {
      run_id: manifest.run_id,
    });
}

/**
 * The edits that put back what the run changed, each expecting the file as it is now. Refuses, unless
 * forced, when a file changed after the run wrote it; and always when a backup is damaged.
 */
async function restoringEdits(options: UndoOptions, manifest: BackupManifest): Promise<FileEdit[]> {
  const dir = backupDir(options.sandbox.root, manifest.run_id);
  const edits: FileEdit[] = [];
  const changed: string[] = [];
  for (const entry of manifest.entries) {
    const target = await options.sandbox.resolveForWrite(entry.path);
    const current = await options.sandbox.readState(target.relative);
    if (current.hash === (entry.before?.sha256 ?? null)) continue; // never applied (crash) or already restored
    if (current.hash !== (entry.after?.sha256 ?? null)) changed.push(entry.path);
    if (!entry.before) {
      edits.push({ kind: "delete", path: entry.path, expected: current.hash });
      continue;
    }
    const content = await readFile(path.join(dir, ...entry.before.backup.split("/")));
    if (sha256(content) !== entry.before.sha256) {
      throw new ApplyError(
        `The backup of ${entry.path} in ${dir} is damaged (its hash does not match the manifest); nothing was restored.`,
        { path: entry.path, run_id: manifest.run_id },
      );
    }
    edits.push({ kind: "write", path: entry.path, content, mode: entry.before.mode, expected: current.hash });
  }
  if (changed.length > 0 && !options.force) {
    throw new FileChangedError(
      `${changed.join(", ")} changed after run ${manifest.run_id} wrote ${changed.length === 1 ? "it" : "them"}; undo would lose those changes, so nothing was restored. ` +
        `Review them, then pass --force to restore anyway (the current content is backed up first).`,
      { paths: changed, run_id: manifest.run_id },
    );
  }
  return edits;
}

/** After a real undo: the run's temp files and the folders it created go, and its manifest says who undid it. */
async function closeUndoneRun(
  sandbox: WorkspaceSandbox,
  manifest: BackupManifest,
  undoneBy: string | undefined,
): Promise<void> {
  // The manifest's paths were proved to lie inside the workspace when it was read.
  for (const entry of manifest.entries)
    if (entry.temp) await rm((await sandbox.resolveInside(entry.temp)).absolute, { force: true });
  await removeEmptyDirs(sandbox.root, manifest.created_dirs);
  await writeManifest(sandbox.root, { ...manifest, status: "undone", ...(undoneBy ? { undone_by: undoneBy } : {}) });
}

/**
 * The newest change still in effect: an applied run, or a redo (an undo of an undo), but not a plain
 * undo, whose undoing is a redo the user asks for by id. Chains alternate: a run is a change, its undo
 * reverses it, the undo's undo (a redo) is a change again, and so on.
 */
async function latestUndoable(sandbox: WorkspaceSandbox): Promise<BackupManifest> {
  const { manifests, refused } = await listManifests(sandbox);
  const byId = new Map(manifests.map((m) => [m.run_id, m]));
  const depth = (m: BackupManifest, seen = new Set<string>()): number => {
    if (m.source !== "undo") return 0;
    const target = m.undoes === undefined ? undefined : byId.get(m.undoes);
    if (!target || seen.has(m.run_id)) return 1;
    seen.add(m.run_id);
    return 1 + depth(target, seen);
  };
  const manifest = manifests.find((m) => (m.status === "applied" || m.status === "applying") && depth(m) % 2 === 0);
  if (!manifest) {
    const note =
      refused.length > 0
        ? ` ${refused.length} manifest(s) there were refused because Builder did not write them in this workspace (${refused.map((r) => r.run_id).join(", ")}); run builder undo <run-id> to see why.`
        : "";
    throw new UsageError(`Nothing to undo: no applied run in ${backupsRoot(sandbox.root)}.${note}`, {
      workspace: sandbox.root,
      refused: refused.map((r) => r.run_id),
    });
  }
  await checkManifestPaths(sandbox, manifest);
  return manifest;
}
