import { existsSync } from "node:fs";
import path from "node:path";

/** Files whose presence marks a workspace root when no config names one. */
export const WORKSPACE_MARKERS = ["builder.config.json", ".git"] as const;

/**
 * The nearest folder at or above `start` that holds `builder.config.json` or `.git` (a folder, or a
 * file in worktrees and submodules); `start` itself when none does.
 */
export function findWorkspaceRoot(start: string): string {
  const from = path.resolve(start);
  let dir = from;
  for (;;) {
    if (WORKSPACE_MARKERS.some((marker) => existsSync(path.join(dir, marker)))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return from;
    dir = parent;
  }
}
