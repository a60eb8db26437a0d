import { existsSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";

/**
 * Makes `<workspace>/.builder/` with a `.gitignore` of `*`, so that backups, caches and saved
 * suggestions never show up in `git status` or get committed by accident. Returns the folder.
 */
export async function ensureBuilderDir(workspaceRoot: string): Promise<string> {
  const dir = path.join(workspaceRoot, ".builder");
  const ignoreFile = path.join(dir, ".gitignore");
  if (existsSync(ignoreFile)) return dir;
  await mkdir(dir, { recursive: true });
  await writeFile(ignoreFile, "# Builder's backups, caches and metrics: local to this machine.\n*\n", { flag: "wx" }).catch(() => undefined);
  return dir;
}
