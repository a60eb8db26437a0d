import { lstat, readlink, realpath } from "node:fs/promises";
import path from "node:path";
import {
  ConfigError,
  MAX_NAME_BYTES,
  MAX_PATH_BYTES,
  PathDeniedError,
  PathTooLongError,
  WorkspaceEscapeError,
} from "../errors/errors.js";
import { PathFilter, inProtectedDir, type Exclusion } from "./ignore.js";
import { stateOf, type FileState } from "./file-state.js";
import { toWorkspaceRelative } from "./paths.js";
import { readFileInside, removeFileInside, writeFileInside, type InsideWriteOptions } from "./safe-fs.js";

/** A path that was checked to lie inside the workspace. */
export interface WorkspacePath {
  /** Workspace-relative, POSIX separators: what prompts, manifests and suggestions show. */
  relative: string;
  /** Absolute path on this machine, under the workspace root as configured. */
  absolute: string;
}

/** Options for {@link WorkspaceSandbox.open}. */
export interface SandboxOptions {
  root: string;
  /** Deny-list patterns added to {@link DEFAULT_DENY} (`!pattern` lifts one). */
  deny?: readonly string[];
}

/**
 * The one gate every workspace path goes through. A path is inside when its lexical form lies under
 * the root and, following symbolic links as far as the path exists, it still does; everything else
 * fails with {@link WorkspaceEscapeError} naming the path. Writes are also refused for deny-listed and
 * protected paths ({@link PathDeniedError}).
 */
export class WorkspaceSandbox {
  private constructor(
    /** The workspace root as configured (absolute). */
    readonly root: string,
    /** The root with symbolic links resolved: what "inside" is measured against. */
    readonly realRoot: string,
    readonly filter: PathFilter,
  ) {}

  /** Opens the workspace at `root`, which must be an existing folder. */
  static async open(options: SandboxOptions): Promise<WorkspaceSandbox> {
    const root = path.resolve(options.root);
    let realRoot: string;
    try {
      realRoot = await realpath(root);
      if (!(await lstat(realRoot)).isDirectory()) throw Object.assign(new Error("not a folder"), { code: "ENOTDIR" });
    } catch (error) {
      throw new ConfigError(
        `The workspace ${root} is not a readable folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Set "workspace" in builder.config.json or pass --workspace.`,
        { workspace: root },
      );
    }
    return new WorkspaceSandbox(root, realRoot, await PathFilter.load(realRoot, options.deny ?? []));
  }

  /** Opens the configured workspace with the configured deny list. */
  static async fromConfig(config: { workspace: string; deny?: readonly string[] }): Promise<WorkspaceSandbox> {
    return WorkspaceSandbox.open({ root: config.workspace, deny: config.deny });
  }

  /**
   * Lexical mapping only (no disk access): see {@link toWorkspaceRelative}. Also refuses
   * ({@link PathTooLongError}) a name over 255 bytes or a path over the platform's limit.
   */
  relative(input: string): string {
    return this.checkLength(input, this.lexical(input));
  }

  private checkLength(input: string, relative: string): string {
    const shown =
      input.length > 200
        ? `${JSON.stringify(input.slice(0, 120))}… (${Buffer.byteLength(input)} bytes)`
        : JSON.stringify(input);
    const long = relative.split("/").find((name) => Buffer.byteLength(name) > MAX_NAME_BYTES);
    if (long !== undefined) {
      throw new PathTooLongError(
        `Path ${shown} has a name of ${Buffer.byteLength(long)} bytes (${long}); file systems allow at most ${MAX_NAME_BYTES} bytes per name. Use a shorter name.`,
        { path: input, name: long, limit_bytes: MAX_NAME_BYTES },
      );
    }
    const bytes = Buffer.byteLength(path.join(this.realRoot, relative));
    // PATH_MAX counts the terminating NUL.
    if (bytes >= MAX_PATH_BYTES) {
      throw new PathTooLongError(
        `Path ${shown} is ${bytes} bytes long in the workspace; this system allows at most ${MAX_PATH_BYTES} bytes per path. Use a shorter path.`,
        {
          path: input,
          bytes,
          limit_bytes: MAX_PATH_BYTES,
        },
      );
    }
    return relative;
  }

  private lexical(input: string): string {
    try {
      return toWorkspaceRelative(this.root, input);
    } catch (error) {
      // An absolute path may name the workspace through its real location (/private/tmp vs /tmp).
      if (this.realRoot !== this.root && path.isAbsolute(input) && !input.includes("\0")) {
        try {
          return toWorkspaceRelative(this.realRoot, input);
        } catch {
          // report the error against the configured root
        }
      }
      throw error;
    }
  }

  /** Resolves a path and proves it stays inside the workspace, symbolic links included. */
  async resolveInside(input: string): Promise<WorkspacePath> {
    const { relative, absolute } = await this.locate(input);
    return { relative, absolute };
  }

  /**
   * Resolves a path for the prompt, saying whether the deny list or a .gitignore keeps it from the
   * model. Both the typed path and where it really leads are checked, so a link to `.env` is withheld.
   */
  async resolveForModel(input: string): Promise<WorkspacePath & { excluded?: Exclusion }> {
    const { relative, absolute, physical } = await this.locate(input);
    const excluded =
      (await this.filter.excluded(relative)) ??
      (physical === relative ? undefined : await this.filter.excluded(physical));
    return excluded ? { relative, absolute, excluded } : { relative, absolute };
  }

  /**
   * Resolves a path Builder is about to write; refuses deny-listed paths and `.git` / `.builder`,
   * judged on the typed path and on where it really leads (a link to `.git` is refused too).
   */
  async resolveForWrite(input: string): Promise<WorkspacePath> {
    const { relative, absolute, physical } = await this.locate(input);
    this.refuseUnwritable(input, relative, physical);
    return { relative, absolute };
  }

  /**
   * Reads a workspace file (a {@link resolveForWrite} or {@link resolveForModel} result's `relative`)
   * so that the check and the read are the same object: the file is opened, then its descriptor's
   * real path must lie inside the workspace ({@link readFileInside}). `physical` is where it really
   * is, for deny-list checks of what was actually read.
   */
  async readState(relative: string): Promise<FileState & { physical?: string }> {
    const file = await readFileInside(this.realRoot, relative);
    return file ? { ...stateOf(file), physical: file.physical } : stateOf(undefined);
  }

  /**
   * Writes a workspace file atomically through {@link writeFileInside}: parents made and checked one
   * at a time, the temp file created and renamed in the checked folder, and where it really goes
   * judged again (deny list, `.git`, `.builder`) on the opened folder. Returns the folders it created.
   */
  async writeFile(
    relative: string,
    data: string | Uint8Array,
    options: Omit<InsideWriteOptions, "allow"> = {},
  ): Promise<string[]> {
    const written = await writeFileInside(this.realRoot, relative, data, {
      ...options,
      allow: (physical) => this.refuseUnwritable(relative, relative, physical),
    });
    return written.createdDirs;
  }

  /** Removes a workspace file, unlinked in its checked folder; false when it did not exist. */
  async removeFile(relative: string): Promise<boolean> {
    return removeFileInside(this.realRoot, relative);
  }

  /** Throws for deny-listed and protected paths, judged on the typed path and on where it really leads. */
  private refuseUnwritable(input: string, relative: string, physical: string): void {
    const via = physical === relative ? "" : ` (through a symbolic link it leads to ${physical})`;
    const protectedDir = inProtectedDir(relative) ?? inProtectedDir(physical);
    if (protectedDir) {
      throw new PathDeniedError(
        `Path ${JSON.stringify(input)}${via} is in ${protectedDir}/, which Builder never writes (it holds git's data or Builder's backups). Choose a source file instead.`,
        { path: relative, physical },
      );
    }
    const denied = this.filter.denied(relative) ?? this.filter.denied(physical);
    if (denied) {
      throw new PathDeniedError(
        `Path ${JSON.stringify(input)}${via} matches the deny list (${denied.pattern}), so Builder neither shows it to the model nor writes it. If it really should be written, add "!${denied.pattern}" to "deny" in builder.config.json.`,
        { path: relative, physical, pattern: denied.pattern },
      );
    }
  }

  /**
   * The typed path (relative and absolute) and `physical`: where it really leads, relative to the
   * real root with POSIX separators. Throws when that lies outside the workspace.
   */
  private async locate(input: string): Promise<WorkspacePath & { physical: string }> {
    const relative = this.relative(input);
    const absolute = path.join(this.root, ...relative.split("/"));
    const target = await physicalPath(path.join(this.realRoot, ...relative.split("/")));
    const fromRoot = path.relative(this.realRoot, target);
    if (fromRoot === "" || fromRoot === ".." || fromRoot.startsWith(`..${path.sep}`) || path.isAbsolute(fromRoot)) {
      throw new WorkspaceEscapeError(
        `Path ${JSON.stringify(input)} leads outside the workspace ${this.root} through a symbolic link (to ${target}). Builder does not follow links out of the workspace; use the real file's path inside it.`,
        { path: input, workspace: this.root, target },
      );
    }
    return { relative, absolute, physical: fromRoot.split(path.sep).join("/") };
  }
}

/**
 * Where `p` really leads: the real path of its longest existing prefix, with dangling symbolic links
 * followed to their targets, and the rest appended.
 */
async function physicalPath(p: string, depth = 0): Promise<string> {
  if (depth > 40) throw new WorkspaceEscapeError(`Path ${p} goes through too many symbolic links.`, { path: p });
  try {
    return await realpath(p);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ELOOP")
      throw new WorkspaceEscapeError(`Path ${p} goes through a loop of symbolic links.`, { path: p });
    if (code !== "ENOENT" && code !== "ENOTDIR") throw error;
  }
  const stats = await lstat(p).catch(() => undefined);
  if (stats?.isSymbolicLink()) return physicalPath(path.resolve(path.dirname(p), await readlink(p)), depth + 1);
  const parent = path.dirname(p);
  if (parent === p) return p;
  return path.join(await physicalPath(parent, depth), path.basename(p));
}
