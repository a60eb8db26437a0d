import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import { ApplyError, FileChangedError, UsageError } from "../errors/errors.js";
import { applyEdits, removeEmptyDirs, type AppliedFile, type ApplyHooks } from "./apply.js";
import { backupDir, backupsRoot, listManifests, newRunId, readManifest, writeManifest, type BackupManifest } from "./backups.js";
import type { FileEdit } from "./edits.js";
import { sha256 } from "./file-state.js";
import type { WorkspaceSandbox } from "./sandbox.js";

/** Options for {@link undoRun}. */
export interface UndoOptions {
  sandbox: WorkspaceSandbox;
  /** The run to undo; default: the newest applied run that is not itself an undo. */
  runId?: string;
  /** Restore even files that changed after the run wrote them (their current content is backed up first). */
  force?: boolean;
  dryRun?: boolean;
  hooks?: ApplyHooks;
  logger?: Logger;
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
 */
export async function undoRun(options: UndoOptions): Promise<UndoResult> {
  const root = options.sandbox.root;
  const manifest = options.runId ? await readManifest(root, options.runId) : await latestUndoable(root);
  if (manifest.status === "undone") {
    throw new UsageError(`Run ${manifest.run_id} was already undone (by ${manifest.undone_by ?? "an earlier undo"}). To redo it, run: builder undo ${manifest.undone_by ?? "<undo run id>"}`, {
      run_id: manifest.run_id,
    });
  }
  if (manifest.status === "rolled-back") throw new UsageError(`Run ${manifest.run_id} failed and was rolled back already; there is nothing to undo.`, { run_id: manifest.run_id });

  const dir = backupDir(root, manifest.run_id);
  const edits: FileEdit[] = [];
  const changed: string[] = [];
  for (const entry of manifest.entries) {
    const target = await options.sandbox.resolveForWrite(entry.path);
    const current = await options.sandbox.readState(target.relative);
    if (current.hash === (entry.before?.sha256 ?? null)) continue; // never applied (crash) or already restored
    if (current.hash !== (entry.after?.sha256 ?? null)) changed.push(entry.path);
    if (entry.before) {
      const content = await readFile(path.join(dir, ...entry.before.backup.split("/")));
      if (sha256(content) !== entry.before.sha256) {
        throw new ApplyError(`The backup of ${entry.path} in ${dir} is damaged (its hash does not match the manifest); nothing was restored.`, { path: entry.path, run_id: manifest.run_id });
      }
      edits.push({ kind: "write", path: entry.path, content, mode: entry.before.mode, expected: current.hash });
    } else {
      edits.push({ kind: "delete", path: entry.path, expected: current.hash });
    }
  }
  if (changed.length > 0 && !options.force) {
    throw new FileChangedError(
      `${changed.join(", ")} changed after run ${manifest.run_id} wrote ${changed.length === 1 ? "it" : "them"}; undo would lose those changes, so nothing was restored. ` +
        `Review them, then pass --force to restore anyway (the current content is backed up first).`,
      { paths: changed, run_id: manifest.run_id },
    );
  }

  const undoRunId = newRunId("undo-");
  const applied = await applyEdits(edits, { sandbox: options.sandbox, runId: undoRunId, dryRun: options.dryRun, source: "undo", undoes: manifest.run_id, hooks: options.hooks, logger: options.logger });
  if (!options.dryRun) {
    for (const entry of manifest.entries) if (entry.temp) await rm(path.join(root, ...entry.temp.split("/")), { force: true });
    await removeEmptyDirs(root, manifest.created_dirs);
    await writeManifest(root, { ...manifest, status: "undone", ...(applied.backupDir ? { undone_by: undoRunId } : {}) });
  }
  return { runId: manifest.run_id, undoRunId: applied.backupDir ? undoRunId : undefined, dryRun: applied.dryRun, files: applied.files, diff: applied.diff };
}

async function latestUndoable(root: string): Promise<BackupManifest> {
  const manifest = (await listManifests(root)).find((m) => (m.status === "applied" || m.status === "applying") && m.source !== "undo");
  if (!manifest) throw new UsageError(`Nothing to undo: no applied run in ${backupsRoot(root)}.`, { workspace: root });
  return manifest;
}
