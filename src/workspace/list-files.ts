import { stat } from "node:fs/promises";
import { readdirInside } from "./safe-fs.js";
import path from "node:path";
import type { WorkspaceSandbox } from "./sandbox.js";

/** A workspace file that may be shown to the model. */
export interface WorkspaceFile {
  /** Workspace-relative, POSIX separators. */
  path: string;
  /** Present when the caller asked for stats of this file. */
  size?: number;
  mtimeMs?: number;
}

/** Options for {@link listWorkspaceFiles}. */
export interface ListFilesOptions {
  /** Which files to stat (size and mtime, for caches); default none. */
  statIf?: (relative: string) => boolean;
  /** Stop after this many files (a safety net for huge trees); default 50,000. */
  limit?: number;
}

/** What {@link listWorkspaceFiles} found. */
export interface FileListing {
  files: WorkspaceFile[];
  /** Files and folders skipped by the deny list or .gitignore (a folder counts once). */
  excluded: number;
  /** True when the listing stopped at `limit`. */
  truncated: boolean;
}

/**
 * Lists the workspace's files that may be shown to the model, sorted by path: it never descends into
 * deny-listed or ignored folders, and skips symbolic links (they may lead outside the workspace).
 */
export async function listWorkspaceFiles(
  sandbox: WorkspaceSandbox,
  options: ListFilesOptions = {},
): Promise<FileListing> {
  const limit = options.limit ?? 50_000;
  const files: WorkspaceFile[] = [];
  let excluded = 0;
  let truncated = false;
  const filter = sandbox.filter;

  async function visit(dir: string): Promise<void> {
    if (truncated) return;
    // Listed through the checked folder's descriptor: a folder swapped for a link lists nothing outside.
    const entries = await readdirInside(sandbox.realRoot, dir).catch(() => []);
    const levels = await filter.levelsFor(dir);
    const subdirs: string[] = [];
    const pending: Array<Promise<void>> = [];
    for (const entry of entries) {
      const relative = dir === "" ? entry.name : `${dir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (filter.denied(`${relative}/`) || filter.gitignored(`${relative}/`, levels)) excluded += 1;
        else subdirs.push(relative);
      } else if (entry.isFile()) {
        if (filter.denied(relative) || filter.gitignored(relative, levels)) {
          excluded += 1;
          continue;
        }
        if (files.length >= limit) {
          truncated = true;
          return;
        }
        const file: WorkspaceFile = { path: relative };
        files.push(file);
        if (options.statIf?.(relative)) {
          pending.push(
            stat(path.join(sandbox.realRoot, relative)).then(
              (stats) => {
                file.size = stats.size;
                file.mtimeMs = stats.mtimeMs;
              },
              () => undefined,
            ),
          );
        }
      }
    }
    await Promise.all(pending);
    await Promise.all(subdirs.map((sub) => visit(sub)));
  }

  await visit("");
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files, excluded, truncated };
}
