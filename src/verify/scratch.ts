import { execFile } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import {
  copyFile,
  cp,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  readlink,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import type { Logger } from "pino";
import { WorkspaceEscapeError } from "../errors/errors.js";
import { getLogger } from "../telemetry/logger.js";
import { neverWritten } from "../workspace/ignore.js";
import { NOT_COPIED_DIRS, resolveWorkspacePath, type ProposedFile } from "./proposed-files.js";

const execFileAsync = promisify(execFile);

/** Cache folders inside node_modules that tools write to: never shared with the real tree. */
const PRIVATE_NODE_MODULES_ENTRIES = new Set([".vite", ".vitest", ".cache"]);

/**
 * A disposable copy of the workspace where suggestions are written and checked, so that the real tree
 * is never touched before every check passed. A git workspace with a commit becomes a detached
 * `git worktree` plus the uncommitted and untracked (not ignored) changes; anything else is copied.
 * `node_modules` is shared through symlinks, one per package, so tools resolve offline while their
 * caches stay private to the copy.
 */
export class ScratchCopy {
  /** Content of each path before this copy's first edit to it (null: it did not exist). */
  private readonly originals = new Map<string, string | null>();
  private touched = new Set<string>();
  private disposed = false;

  private constructor(
    /** The copy of the workspace root: the path that maps to `workspace`. */
    readonly root: string,
    readonly workspace: string,
    readonly kind: "git-worktree" | "copy",
    private readonly tempDir: string,
    private readonly gitTop: string | undefined,
    private readonly scratchTop: string,
    private readonly logger: Logger,
  ) {}

  /**
   * Creates the scratch copy of `workspace`. Always pair with {@link dispose}. With `ref` (a commit of
   * a git workspace), the copy holds that commit exactly, without the uncommitted work.
   */
  static async create(
    workspace: string,
    logger: Logger = getLogger(),
    options: { ref?: string } = {},
  ): Promise<ScratchCopy> {
    const real = realpathSync(path.resolve(workspace));
    const tempDir = await mkdtemp(path.join(tmpdir(), "builder-verify-"));
    const git = await gitInfo(real);
    try {
      if (git) {
        const tree = path.join(tempDir, "tree");
        try {
          await execFileAsync("git", [
            "-C",
            git.top,
            "-c",
            "core.hooksPath=/dev/null",
            "worktree",
            "add",
            "--detach",
            "--quiet",
            tree,
            options.ref ?? "HEAD",
          ]);
          const copy = new ScratchCopy(
            path.join(tree, path.relative(git.top, real)),
            real,
            "git-worktree",
            tempDir,
            git.top,
            tree,
            logger,
          );
          if (options.ref === undefined) await copy.copyUncommittedChanges();
          await copy.linkNodeModules();
          return copy;
        } catch (error) {
          await rm(tree, { recursive: true, force: true });
          await execFileAsync("git", ["-C", git.top, "worktree", "prune"]).catch(() => undefined);
          // A copy of the working tree would not be that commit: fail rather than check the wrong code.
          if (options.ref !== undefined) throw error;
          logger.warn({ err: error }, "git worktree add failed; copying the workspace instead");
        }
      }
      const tree = path.join(tempDir, "copy");
      await cp(real, tree, {
        recursive: true,
        verbatimSymlinks: true,
        filter: (source) => !NOT_COPIED_DIRS.has(path.basename(source)) || source === real,
      });
      const copy = new ScratchCopy(tree, real, "copy", tempDir, undefined, tree, logger);
      await copy.linkNodeModules();
      return copy;
    } catch (error) {
      await rm(tempDir, { recursive: true, force: true });
      throw error;
    }
  }

  /** The temp folder that holds the copy (and nothing else): what sandboxed checks may write. */
  get folder(): string {
    return this.tempDir;
  }

  /** Absolute path in the copy of a workspace-relative path. */
  absolute(relativePath: string): string {
    return path.join(this.root, ...relativePath.split("/"));
  }

  /** The content a path had before any edit in this copy (null when it did not exist). */
  async original(relativePath: string): Promise<string | null> {
    const known = this.originals.get(relativePath);
    if (known !== undefined) return known;
    return readOrNull(this.absolute(relativePath));
  }

  /**
   * Makes the copy hold the workspace plus exactly these edits: files an earlier round edited but
   * this one does not are restored first. Paths are checked to stay inside the copy, through symlinks too.
   */
  async applyEdits(edits: readonly ProposedFile[]): Promise<void> {
    const next = new Map<string, string | null>();
    for (const edit of edits) next.set(resolveWorkspacePath(this.root, edit.path), edit.content);
    for (const relativePath of this.touched) {
      if (next.has(relativePath)) continue;
      const original = this.originals.get(relativePath) ?? null;
      if (original === null) await rm(this.absolute(relativePath), { force: true });
      else await writeFile(this.absolute(relativePath), original);
    }
    for (const [relativePath, content] of next) {
      const target = this.absolute(relativePath);
      await this.assertWritable(relativePath, target);
      if (!this.originals.has(relativePath)) this.originals.set(relativePath, await readOrNull(target));
      if (content === null) {
        await rm(target, { force: true });
        continue;
      }
      await mkdir(path.dirname(target), { recursive: true });
      await writeFile(target, content);
    }
    this.touched = new Set(next.keys());
  }

  /** Removes the copy (and its worktree registration). Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    // Unlink the shared node_modules entries first, so that nothing below can ever reach the real packages.
    await rm(path.join(this.root, "node_modules"), { recursive: true, force: true }).catch(() => undefined);
    if (this.gitTop && this.scratchTop !== this.root)
      await rm(path.join(this.scratchTop, "node_modules"), { recursive: true, force: true }).catch(() => undefined);
    if (this.kind === "git-worktree" && this.gitTop) {
      await execFileAsync("git", ["-C", this.gitTop, "worktree", "remove", "--force", this.scratchTop]).catch(
        (error: unknown) => {
          this.logger.debug({ err: error }, "git worktree remove failed; removing the folder and pruning");
        },
      );
    }
    await rm(this.tempDir, { recursive: true, force: true });
    if (this.kind === "git-worktree" && this.gitTop)
      await execFileAsync("git", ["-C", this.gitTop, "worktree", "prune"]).catch(() => undefined);
  }

  private async assertWritable(relativePath: string, target: string): Promise<void> {
    const top = realpathSync(this.scratchTop);
    let probe = target;
    while (!existsSync(probe)) probe = path.dirname(probe);
    const resolved = realpathSync(probe);
    const inside = resolved === top || resolved.startsWith(top + path.sep);
    const isLink = probe === target && (await lstat(target)).isSymbolicLink();
    const denied = neverWritten(relativePath);
    if (!inside || isLink || denied) {
      const why = isLink
        ? "a symlink"
        : denied
          ? `in ${denied}, which Builder never writes (the deny list)`
          : `reached through a symlink that leaves the workspace (${resolved})`;
      throw new WorkspaceEscapeError(`${relativePath} cannot be written: it is ${why}. Choose a regular source path.`, {
        path: relativePath,
      });
    }
  }

  /** Brings uncommitted work (staged, unstaged, untracked but not ignored) into the fresh worktree. */
  private async copyUncommittedChanges(): Promise<void> {
    const top = this.gitTop as string;
    const changed = await gitLines(top, ["diff", "--name-only", "-z", "--no-renames", "HEAD"]);
    const untracked = await gitLines(top, ["ls-files", "-z", "--others", "--exclude-standard"]);
    for (const relativePath of new Set([...changed, ...untracked])) {
      if (relativePath.split("/").some((part) => NOT_COPIED_DIRS.has(part))) continue;
      const source = path.join(top, relativePath);
      const target = path.join(this.scratchTop, relativePath);
      const stat = await lstat(source).catch(() => undefined);
      if (!stat) {
        await rm(target, { force: true });
      } else if (stat.isSymbolicLink()) {
        await rm(target, { force: true });
        await mkdir(path.dirname(target), { recursive: true });
        await symlink(await readlink(source), target);
      } else if (stat.isFile()) {
        await mkdir(path.dirname(target), { recursive: true });
        await copyFile(source, target);
      }
    }
  }

  /** Shares node_modules of the workspace (and of the repository root) through per-entry symlinks. */
  private async linkNodeModules(): Promise<void> {
    const pairs: Array<[string, string]> = [[this.workspace, this.root]];
    if (this.gitTop && this.gitTop !== this.workspace) pairs.push([this.gitTop, this.scratchTop]);
    for (const [realDir, scratchDir] of pairs) {
      const source = path.join(realDir, "node_modules");
      if (!existsSync(source)) continue;
      const target = path.join(scratchDir, "node_modules");
      await rm(target, { recursive: true, force: true });
      await mkdir(target, { recursive: true });
      const realSource = realpathSync(source);
      for (const entry of await readdir(realSource)) {
        if (PRIVATE_NODE_MODULES_ENTRIES.has(entry)) continue;
        await symlink(
          path.join(realSource, entry),
          path.join(target, entry),
          process.platform === "win32" ? "junction" : undefined,
        );
      }
    }
  }
}

async function gitInfo(dir: string): Promise<{ top: string } | undefined> {
  try {
    const { stdout } = await execFileAsync("git", ["-C", dir, "rev-parse", "--show-toplevel"]);
    await execFileAsync("git", ["-C", dir, "rev-parse", "--verify", "--quiet", "HEAD"]);
    return { top: realpathSync(stdout.trim()) };
  } catch {
    return undefined;
  }
}

async function gitLines(top: string, args: string[]): Promise<string[]> {
  const { stdout } = await execFileAsync("git", ["-C", top, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.split("\0").filter((line) => line !== "");
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await readFile(file, "utf8");
  } catch {
    return null;
  }
}
