import { readFile } from "node:fs/promises";
import path from "node:path";
import ignore, { type Ignore } from "ignore";

/**
 * Paths Builder never shows to the model and never writes, in .gitignore syntax, matched
 * case-insensitively at any depth. The config's `deny` list adds to it; a `!pattern` there lifts one.
 */
export const DEFAULT_DENY = [
  ".env*",
  "*.pem",
  "*.key",
  "id_rsa*",
  "node_modules",
  "dist",
  "build",
  ".git",
  ".builder",
] as const;

/** Folders Builder never writes into, whatever the deny list says: git's own data and Builder's backups. */
export const PROTECTED_DIRS = [".git", ".builder"] as const;

const defaultDeny = ignore({ ignorecase: true }).add([...DEFAULT_DENY]);

/**
 * Why Builder never writes `relative` (workspace-relative POSIX) whatever the config says: the
 * protected folder or the {@link DEFAULT_DENY} pattern it lies in; undefined when it may be written.
 * The config's own `deny` entries add to this where a {@link PathFilter} is loaded (the real apply).
 */
export function neverWritten(relative: string): string | undefined {
  const protectedDir = inProtectedDir(relative);
  if (protectedDir) return `${protectedDir}/`;
  const parts = relative.split("/");
  for (let i = 1; i <= parts.length; i += 1) {
    const candidate = parts.slice(0, i).join("/") + (i < parts.length ? "/" : "");
    const result = defaultDeny.test(candidate);
    if (result.ignored) return result.rule?.pattern ?? "the deny list";
  }
  return undefined;
}

/** Why a path is kept from the model: a deny-list pattern or a .gitignore rule. */
export interface Exclusion {
  by: "deny" | "gitignore";
  /** The pattern that matched. */
  pattern: string;
  /** The file the pattern comes from (`.gitignore`, `src/.gitignore`, or `deny` for the deny list). */
  source: string;
}

interface Level {
  /** Folder the rules belong to, workspace-relative ("" for the root). */
  dir: string;
  source: string;
  rules: Ignore;
}

/**
 * Decides which workspace files are kept from the model: the deny list, then every `.gitignore` on
 * the way down (deeper files win, the last matching rule of a file wins, `!` re-includes unless a
 * parent folder is ignored) and `.git/info/exclude`, as git does. Paths are workspace-relative POSIX;
 * folders are tested with a trailing `/`.
 */
export class PathFilter {
  private readonly levels = new Map<string, Level[]>();

  private constructor(
    private readonly root: string,
    private readonly deny: Ignore,
    private readonly denyPatterns: readonly string[],
    private readonly rootLevels: Level[],
  ) {
    this.levels.set("", rootLevels);
  }

  /** Loads the root's `.gitignore` and `.git/info/exclude`; nested `.gitignore` files load on demand. */
  static async load(root: string, extraDeny: readonly string[] = []): Promise<PathFilter> {
    const denyPatterns = [...DEFAULT_DENY, ...extraDeny];
    const rootLevels: Level[] = [];
    const exclude = await readRules(path.join(root, ".git", "info", "exclude"));
    if (exclude !== undefined)
      rootLevels.push({ dir: "", source: ".git/info/exclude", rules: ignore({ ignorecase: true }).add(exclude) });
    const gitignore = await readRules(path.join(root, ".gitignore"));
    if (gitignore !== undefined)
      rootLevels.push({ dir: "", source: ".gitignore", rules: ignore({ ignorecase: true }).add(gitignore) });
    return new PathFilter(root, ignore({ ignorecase: true }).add(denyPatterns), denyPatterns, rootLevels);
  }

  /** The deny-list pattern a path (or one of its folders) matches, if any. */
  denied(relative: string): Exclusion | undefined {
    const result = this.deny.test(relative);
    return result.ignored ? { by: "deny", pattern: result.rule?.pattern ?? "?", source: "deny" } : undefined;
  }

  /** Why a path is kept from the model, or undefined when it may be shown. Checks every parent folder. */
  async excluded(relative: string, isDirectory = false): Promise<Exclusion | undefined> {
    const parts = relative.split("/");
    for (let i = 1; i <= parts.length; i += 1) {
      const last = i === parts.length;
      const candidate = parts.slice(0, i).join("/") + (last && !isDirectory ? "" : "/");
      const found =
        this.denied(candidate) ?? this.gitignored(candidate, await this.levelsFor(parts.slice(0, i - 1).join("/")));
      if (found) return found;
    }
    return undefined;
  }

  /**
   * The rules that apply inside folder `dir` (workspace-relative), root first. Loads `dir/.gitignore`
   * once. Callers walking the tree ask for each folder after its parent.
   */
  async levelsFor(dir: string): Promise<Level[]> {
    const known = this.levels.get(dir);
    if (known) return known;
    const parent = dir.includes("/") ? dir.slice(0, dir.lastIndexOf("/")) : "";
    const inherited = await this.levelsFor(parent);
    const text = await readRules(path.join(this.root, dir, ".gitignore"));
    const levels =
      text === undefined
        ? inherited
        : [...inherited, { dir, source: `${dir}/.gitignore`, rules: ignore({ ignorecase: true }).add(text) }];
    this.levels.set(dir, levels);
    return levels;
  }

  /** The .gitignore rule that ignores `relative` (a folder ends with "/"), given the levels of its folder. */
  gitignored(relative: string, levels: readonly Level[]): Exclusion | undefined {
    for (let i = levels.length - 1; i >= 0; i -= 1) {
      const level = levels[i] as Level;
      const local = level.dir === "" ? relative : relative.slice(level.dir.length + 1);
      const result = level.rules.test(local);
      if (result.ignored) return { by: "gitignore", pattern: result.rule?.pattern ?? "?", source: level.source };
      if (result.unignored) return undefined;
    }
    return undefined;
  }

  /** The deny patterns in force (defaults plus config), for messages. */
  get denyList(): readonly string[] {
    return this.denyPatterns;
  }
}

/**
 * The protected name (`.git`, `.builder`) that `relative` is or lies in at any depth, compared
 * case-insensitively and without trailing dots or spaces, as macOS and Windows compare names.
 */
export function inProtectedDir(relative: string): string | undefined {
  const folders = relative.split("/").map((part) => part.toLowerCase().replace(/[. ]+$/, ""));
  return PROTECTED_DIRS.find((dir) => folders.includes(dir));
}

async function readRules(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return undefined;
  }
}
