import { existsSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import ignore from "ignore";

/** Files and folders in the home folder that hold credentials: never readable inside the sandbox. */
export const HOME_SECRETS = [
  ".ssh",
  ".aws",
  ".config",
  ".npmrc",
  ".netrc",
  ".gnupg",
  ".git-credentials",
  ".docker",
  ".kube",
] as const;

/** Workspace files that hold secrets whatever the config says (the secret half of the default deny list). */
const SECRET_PATTERNS = [".env*", "*.pem", "*.key", "id_rsa*"];

/** Folders the workspace walk never enters: they hold packages, history and build output, not secrets. */
const SKIPPED_DIRS = new Set(["node_modules", ".git", "dist", "build", ".builder"]);

/** The walk stops after this many entries, so a huge tree cannot stall every check. */
const MAX_ENTRIES = 20_000;

/** Paths to hide: folders get an empty folder over them, files read as empty. */
export interface HiddenPaths {
  dirs: string[];
  files: string[];
}

/**
 * The secret paths that exist: the home folder's credential stores, plus the files under each root
 * (the workspace, the scratch copy) matching the secret patterns or the config's deny list.
 */
export function findSecrets(roots: readonly string[], deny: readonly string[], home: string = homedir()): HiddenPaths {
  const hidden: HiddenPaths = { dirs: [], files: [] };
  for (const name of HOME_SECRETS) addExisting(hidden, path.join(home, name));
  const matcher = ignore({ ignorecase: true }).add([...SECRET_PATTERNS, ...deny.filter((d) => !SKIPPED_DIRS.has(d))]);
  for (const root of roots) walk(root, "", matcher, hidden, { left: MAX_ENTRIES });
  return hidden;
}

function addExisting(hidden: HiddenPaths, target: string): void {
  try {
    const stat = statSync(target);
    if (stat.isDirectory()) hidden.dirs.push(target);
    else if (stat.isFile()) hidden.files.push(target);
  } catch {
    // absent: nothing to hide
  }
}

function walk(
  root: string,
  relative: string,
  matcher: ReturnType<typeof ignore>,
  hidden: HiddenPaths,
  budget: { left: number },
): void {
  const dir = path.join(root, relative);
  if (!existsSync(dir)) return;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) {
    if ((budget.left -= 1) < 0) return;
    const child = relative === "" ? entry.name : `${relative}/${entry.name}`;
    if (entry.isDirectory()) {
      if (SKIPPED_DIRS.has(entry.name)) continue;
      if (matcher.ignores(`${child}/`)) hidden.dirs.push(path.join(root, child));
      else walk(root, child, matcher, hidden, budget);
    } else if (entry.isFile() && matcher.ignores(child)) {
      hidden.files.push(path.join(root, child));
    }
  }
}
