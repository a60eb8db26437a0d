import { appendFile, lstat, mkdir, readFile, readlink, realpath, writeFile } from "node:fs/promises";
import path from "node:path";
import { ApplyError, WorkspaceEscapeError } from "../errors/errors.js";
import { appendFileInside, writeFileInside } from "./safe-fs.js";

/** The per-workspace secret that signs backup manifests (see manifest-key.ts); never committed. */
export const MANIFEST_KEY_FILE = "manifest-key.secret";

/** Files in `.builder/` that must never be committed even where `.builder/.gitignore` is not `*`. */
const NEVER_COMMIT = [MANIFEST_KEY_FILE];

/**
 * Makes `<workspace>/.builder/` with a `.gitignore` of `*`, so that backups, caches and saved
 * suggestions never show up in `git status` or get committed by accident. Returns the folder.
 * Refuses ({@link WorkspaceEscapeError}) a `.builder` that is a symbolic link or lies outside the
 * workspace: a cloned repository must not be able to send backups, metrics or training data elsewhere.
 */
export async function ensureBuilderDir(workspaceRoot: string): Promise<string> {
  const dir = path.join(workspaceRoot, ".builder");
  await refuseLink(workspaceRoot, dir);
  try {
    // Not recursive: the workspace root exists, and Node's recursive mkdir reports a read-only file
    // system as ENOENT, which would hide the real reason.
    await mkdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw workspaceNotWritable(workspaceRoot, error) ?? error;
  }
  // Checked again after mkdir: the folder may have been swapped for a link in between.
  await refuseLink(workspaceRoot, dir);
  const [realDir, realRoot] = await Promise.all([realpath(dir), realpath(workspaceRoot)]);
  if (realDir !== path.join(realRoot, ".builder")) throw escape(workspaceRoot, dir, realDir);
  // "wx" never follows a link and never overwrites: an existing .gitignore is left as it is.
  const gitignore = path.join(dir, ".gitignore");
  await writeFile(gitignore, "# Builder's backups, caches and metrics: local to this machine.\n*\n", {
    flag: "wx",
  }).catch(() => undefined);
  // A .builder/.gitignore that came with a clone may not ignore everything: it must still ignore the key.
  const lines = (await readFile(gitignore, "utf8").catch(() => "*")).split(/\r?\n/).map((line) => line.trim());
  const missing = lines.includes("*") ? [] : NEVER_COMMIT.filter((name) => !lines.includes(name));
  if (missing.length > 0 && !(await lstat(gitignore)).isSymbolicLink())
    await appendFile(gitignore, `\n${missing.join("\n")}\n`).catch(() => undefined);
  return dir;
}

/**
 * The error for a workspace Builder cannot write (a read-only mount, no permission), or undefined when
 * `error` is something else. Every apply needs `.builder/` for its backups first, so this is where a
 * read-only workspace is noticed, before any file changes.
 */
export function workspaceNotWritable(workspaceRoot: string, error: unknown): ApplyError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code !== "EROFS" && code !== "EACCES" && code !== "EPERM") return undefined;
  return new ApplyError(
    `The workspace ${workspaceRoot} is not writable (${code}${code === "EROFS" ? ": a read-only file system" : ""}): Builder saves backups in ${path.join(workspaceRoot, ".builder")} before it changes any file, so nothing was written. ` +
      `Make the workspace writable, or use --dry-run to see the diff.`,
    { workspace: workspaceRoot, errno: code },
    { cause: error },
  );
}

/**
 * Makes `.builder` (see {@link ensureBuilderDir}) and returns `file`, a path under it, after checking
 * that no existing part of `file` below `.builder` is a symbolic link. Every writer of `.builder`
 * goes through this, so nothing Builder keeps for itself is written outside the workspace.
 */
export async function checkedBuilderPath(workspaceRoot: string, file: string): Promise<string> {
  const dir = await ensureBuilderDir(workspaceRoot);
  const inside = path.relative(dir, file);
  if (inside === "" || inside.startsWith("..") || path.isAbsolute(inside)) {
    throw new WorkspaceEscapeError(`${file} is not inside ${dir}; Builder writes its own files only there.`, {
      path: file,
      builder_dir: dir,
    });
  }
  let current = dir;
  for (const part of inside.split(path.sep)) {
    current = path.join(current, part);
    if (!(await refuseLink(workspaceRoot, current))) break;
  }
  return file;
}

/**
 * Writes `file` (a path under `<workspace>/.builder/`) atomically through the workspace's safe writes
 * ({@link writeFileInside}): every folder on the way is opened and checked, and the file must really
 * land under `.builder/`, so a link or a swapped folder cannot send it elsewhere.
 */
export async function writeBuilderFile(
  workspaceRoot: string,
  file: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  const { relative, allow } = await builderTarget(workspaceRoot, file);
  await writeFileInside(await realpath(workspaceRoot), relative, data, { mode: options.mode, allow });
}

/** Appends to `file` under `<workspace>/.builder/` (metrics, training data) with the same checks as {@link writeBuilderFile}. */
export async function appendBuilderFile(workspaceRoot: string, file: string, data: Uint8Array): Promise<void> {
  const { relative, allow } = await builderTarget(workspaceRoot, file);
  await appendFileInside(await realpath(workspaceRoot), relative, data, allow);
}

async function builderTarget(
  workspaceRoot: string,
  file: string,
): Promise<{ relative: string; allow: (physical: string) => void }> {
  const checked = await checkedBuilderPath(workspaceRoot, file);
  const relative = path.relative(workspaceRoot, checked).split(path.sep).join("/");
  return {
    relative,
    allow: (physical) => {
      if (!physical.startsWith(".builder/")) throw escape(workspaceRoot, checked, physical);
    },
  };
}

/** Throws when `p` is a symbolic link; returns whether it exists. */
async function refuseLink(workspaceRoot: string, p: string): Promise<boolean> {
  const stats = await lstat(p).catch(() => undefined);
  if (stats?.isSymbolicLink()) throw escape(workspaceRoot, p, await readlink(p).catch(() => "?"));
  return stats !== undefined;
}

function escape(workspaceRoot: string, p: string, target: string): WorkspaceEscapeError {
  const relative = path.relative(workspaceRoot, p).split(path.sep).join("/");
  return new WorkspaceEscapeError(
    `${relative} in the workspace ${workspaceRoot} is a symbolic link (to ${target}) or leads outside it; Builder keeps its backups, metrics and caches inside the workspace only, so nothing was written there. Remove the link (rm ${relative}) and run again.`,
    { path: relative, workspace: workspaceRoot, target },
  );
}
