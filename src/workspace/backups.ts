import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { UsageError } from "../errors/errors.js";
import { writeFileAtomic } from "./atomic-write.js";
import { checkedBuilderPath } from "./builder-dir.js";

/** What a run did to one file. */
export type FileAction = "create" | "modify" | "delete";

/** One file a run changed, with everything needed to put it back. */
export interface ManifestEntry {
  /** Workspace-relative, POSIX separators. */
  path: string;
  action: FileAction;
  /** The file before the run; null when the run created it. `backup` is relative to the run's backup folder. */
  before: { sha256: string; mode: number; backup: string } | null;
  /** The file after the run; null when the run deleted it. */
  after: { sha256: string } | null;
  /** The temp file the new content is written to before the rename (workspace-relative), removed by undo if a crash left it. */
  temp?: string;
}

/**
 * `.builder/backups/<run-id>/manifest.json`. Written, complete and synced, before the first file
 * changes (status "applying"), so that even a crash mid-apply leaves enough to undo it.
 */
export interface BackupManifest {
  version: 1;
  run_id: string;
  /** "run" (builder run --apply), "apply" (builder apply), "undo" (the restore itself, so an undo can be undone). */
  source: "run" | "apply" | "undo";
  /** For undo runs: the run they undid. */
  undoes?: string;
  status: "applying" | "applied" | "rolled-back" | "undone";
  /** The run that undid this one. */
  undone_by?: string;
  created_at: string;
  updated_at: string;
  /** Folders the run created (workspace-relative, parents first); undo removes them when empty. */
  created_dirs: string[];
  entries: ManifestEntry[];
}

/** The folder that holds every run's backups. */
export function backupsRoot(workspaceRoot: string): string {
  return path.join(workspaceRoot, ".builder", "backups");
}

/** The folder of one run's backups. */
export function backupDir(workspaceRoot: string, runId: string): string {
  return path.join(backupsRoot(workspaceRoot), checkRunId(runId));
}

export { newRunId } from "../format/run-id.js";

/** Refuses run ids that could name a path outside the backups folder. */
export function checkRunId(runId: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId) || runId.includes("..")) {
    throw new UsageError(`"${runId}" is not a run id. Run ids look like 20250101T120000-a1b2c3; list them with: ls .builder/backups`, { run_id: runId });
  }
  return runId;
}

/** Writes a run's manifest atomically. */
export async function writeManifest(workspaceRoot: string, manifest: BackupManifest): Promise<void> {
  const file = await checkedBuilderPath(workspaceRoot, path.join(backupDir(workspaceRoot, manifest.run_id), "manifest.json"));
  await writeFileAtomic(file, JSON.stringify({ ...manifest, updated_at: new Date().toISOString() }, null, 2) + "\n");
}

/** Reads one run's manifest; a usage error naming the run when there is none. */
export async function readManifest(workspaceRoot: string, runId: string): Promise<BackupManifest> {
  const file = path.join(backupDir(workspaceRoot, runId), "manifest.json");
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    throw new UsageError(`No backups for run ${runId} in ${backupsRoot(workspaceRoot)}. Check the run id (ls .builder/backups) and the --workspace.`, { run_id: runId });
  }
  return JSON.parse(text) as BackupManifest;
}

/** Every run's manifest, newest first. Unreadable manifests are skipped. */
export async function listManifests(workspaceRoot: string): Promise<BackupManifest[]> {
  const names = await readdir(backupsRoot(workspaceRoot)).catch(() => [] as string[]);
  const manifests: BackupManifest[] = [];
  for (const name of names) {
    try {
      manifests.push(JSON.parse(await readFile(path.join(backupsRoot(workspaceRoot), name, "manifest.json"), "utf8")) as BackupManifest);
    } catch {
      // a folder without a complete manifest changed nothing: the manifest is written before any file
    }
  }
  return manifests.sort((a, b) => (a.created_at === b.created_at ? (a.run_id < b.run_id ? 1 : -1) : a.created_at < b.created_at ? 1 : -1));
}
