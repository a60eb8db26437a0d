/**
 * File operations under a workspace root whose check and use are the same object, so that a folder
 * swapped for a symbolic link between "is this inside?" and "open/write/rename it" cannot send a read
 * or a write outside (a time-of-check-to-time-of-use race a hostile repository can run).
 *
 * Node has no openat(2). On Linux, `/proc/self/fd/<fd>` stands in for it: the kernel resolves that
 * path to the very object the descriptor holds, however the path that opened it has changed since.
 * So every folder is opened, its descriptor's real path checked to lie inside the real root, and
 * names in it are then used through `/proc/self/fd/<fd>/<name>`: mkdir, create, rename and unlink
 * all happen in the folder that was checked. Reads open the file first and check the descriptor's
 * real path before reading a byte. After a rename, the still-open descriptor of what was written
 * says where it landed; if that is outside (the folder itself was moved out meanwhile), it is
 * removed and the write reported as an escape.
 *
 * Without /proc/self/fd (macOS, the BSDs) the fallback uses real paths: each opened object's device
 * and inode (fstat) must equal those of the real path that was checked (realpath, re-done right
 * before a rename). That narrows the race to the gap between the re-check and the call; it does not
 * close it.
 */
import { randomBytes } from "node:crypto";
import { constants, existsSync, type Dirent } from "node:fs";
import {
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  rmdir,
  stat,
  unlink,
  type FileHandle,
} from "node:fs/promises";
import path from "node:path";
import { ApplyError, WorkspaceEscapeError } from "../errors/errors.js";

const PROC_FD = process.platform === "linux" && existsSync("/proc/self/fd");
const O_DIRECTORY = constants.O_DIRECTORY ?? 0;
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;

/** A file read inside the workspace: its bytes, mode, and where it really is (relative to the real root, POSIX). */
export interface InsideFile {
  content: Buffer;
  mode: number;
  physical: string;
}

/** Options for {@link writeFileInside}. */
export interface InsideWriteOptions {
  /** File mode, applied exactly (not masked by the umask); default 0o644 masked by the umask. */
  mode?: number;
  /** The temp file's name (same folder as the target); default: a unique hidden name. */
  tempName?: string;
  /** Called with the temp file's path after it is complete and synced, just before the rename. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
  /** Judges where the file really goes (relative to the real root, POSIX) before anything is created; throws to refuse. */
  allow?: (physical: string) => void;
}

/** A folder inside the workspace, held open so that names in it resolve in the object that was checked. */
class InsideDir {
  constructor(
    private readonly realRoot: string,
    readonly handle: FileHandle,
    /** Relative to the real root, POSIX; "" for the root itself. */
    readonly physical: string,
  ) {}

  /** A path naming `name` in this very folder ("" names the folder). */
  child(name: string): string {
    if (PROC_FD) return name === "" ? `/proc/self/fd/${this.handle.fd}` : `/proc/self/fd/${this.handle.fd}/${name}`;
    return path.join(this.realRoot, ...splitRelative(this.physical), name);
  }

  /** Where this file's name in this folder is, relative to the real root. */
  nameOf(name: string): string {
    return this.physical === "" ? name : `${this.physical}/${name}`;
  }

  /** Proves the folder is still inside the root (it may have been moved out since it was opened). */
  async recheck(): Promise<void> {
    await verifiedPhysical(this.realRoot, this.handle, path.join(this.realRoot, ...splitRelative(this.physical)));
  }

  /**
   * Runs a file call on a name in this folder; an error it throws names the folder's real path, not
   * `/proc/self/fd/<fd>`, so messages stay readable.
   */
  async call<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      const errno = error as NodeJS.ErrnoException & { dest?: string };
      if (PROC_FD && typeof errno.message === "string") {
        const proc = `/proc/self/fd/${this.handle.fd}`;
        const real = path.join(this.realRoot, ...splitRelative(this.physical));
        errno.message = errno.message.split(proc).join(real);
        if (typeof errno.path === "string") errno.path = errno.path.split(proc).join(real);
        if (typeof errno.dest === "string") errno.dest = errno.dest.split(proc).join(real);
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}

/**
 * Reads a file inside the workspace, links inside it followed: the file is opened first, and its
 * descriptor's real path must lie inside `realRoot` before anything is read. Undefined when the file
 * does not exist; {@link WorkspaceEscapeError} when it leads outside; {@link ApplyError} for a folder
 * or something that is not a regular file (a FIFO is opened non-blocking, so it cannot hang a run).
 */
export async function readFileInside(realRoot: string, relative: string): Promise<InsideFile | undefined> {
  const absolute = path.join(realRoot, ...splitRelative(relative));
  let handle: FileHandle;
  try {
    handle = await open(absolute, constants.O_RDONLY | O_NONBLOCK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    if (code === "ELOOP")
      throw new WorkspaceEscapeError(`Path ${relative} goes through a loop of symbolic links.`, { path: relative });
    throw error;
  }
  try {
    const physical = await verifiedPhysical(realRoot, handle, absolute, relative);
    const stats = await handle.stat();
    if (stats.isDirectory())
      throw new ApplyError(`${relative} is a folder, not a file; Builder only reads and writes files.`, {
        path: relative,
      });
    if (!stats.isFile())
      throw new ApplyError(
        `${relative} is not a regular file (a device, socket or pipe); Builder only reads and writes files.`,
        { path: relative },
      );
    return { content: await handle.readFile(), mode: stats.mode & 0o7777, physical };
  } finally {
    await handle.close().catch(() => undefined);
  }
}

/**
 * Writes a file inside the workspace atomically (temp file, fsync, rename, fsync of the folder), the
 * missing parent folders created one at a time, each checked before the next is made in it. The
 * temp file is created with O_EXCL|O_NOFOLLOW in the checked folder and renamed within it; after the
 * rename the written file's real path is checked again. Returns the folders it created (relative to
 * the real root, parents first) and where the file really is.
 */
export async function writeFileInside(
  realRoot: string,
  relative: string,
  data: string | Uint8Array,
  options: InsideWriteOptions = {},
): Promise<{ physical: string; createdDirs: string[] }> {
  const parts = splitRelative(relative);
  const name = parts.pop();
  if (name === undefined)
    throw new WorkspaceEscapeError(`Builder does not write the workspace root itself.`, { path: relative });
  const { dir, created } = await openDirInside(realRoot, parts, true);
  try {
    const physical = dir.nameOf(name);
    options.allow?.(physical);
    const tempName = options.tempName ?? `.${name}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
    const temp = dir.child(tempName);
    const handle = await dir.call(() =>
      open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | O_NOFOLLOW, options.mode ?? 0o644),
    );
    let renamed = false;
    try {
      await verifiedPhysical(realRoot, handle, path.join(realRoot, ...splitRelative(dir.nameOf(tempName))), relative);
      await handle.writeFile(data);
      if (options.mode !== undefined) await handle.chmod(options.mode);
      await handle.sync();
      await options.beforeRename?.(path.join(realRoot, ...splitRelative(dir.nameOf(tempName))));
      await dir.recheck();
      await dir.call(() => rename(temp, dir.child(name)));
      renamed = true;
      // The rename is by name; the descriptor says where the bytes really are now.
      if ((await physicalOf(realRoot, handle, path.join(realRoot, ...splitRelative(physical)))) === undefined) {
        await unlink(dir.child(name)).catch(() => undefined);
        throw new WorkspaceEscapeError(
          `${relative} was moved outside the workspace ${realRoot} while Builder wrote it; what was written there was removed.`,
          { path: relative, workspace: realRoot },
        );
      }
    } catch (error) {
      if (!renamed) await unlink(temp).catch(() => undefined);
      throw error;
    } finally {
      await handle.close().catch(() => undefined);
    }
    await dir.handle.sync().catch(() => undefined);
    return { physical, createdDirs: created };
  } finally {
    await dir.close();
  }
}

/**
 * Appends bytes to a file inside the workspace with one O_APPEND write (so concurrent writers never
 * interleave lines), opened with O_NOFOLLOW in its checked folder; missing folders are created as in
 * {@link writeFileInside}.
 */
export async function appendFileInside(
  realRoot: string,
  relative: string,
  data: Uint8Array,
  allow?: (physical: string) => void,
): Promise<void> {
  const parts = splitRelative(relative);
  const name = parts.pop();
  if (name === undefined)
    throw new WorkspaceEscapeError(`Builder does not write the workspace root itself.`, { path: relative });
  const { dir } = await openDirInside(realRoot, parts, true);
  try {
    allow?.(dir.nameOf(name));
    const handle = await dir.call(() =>
      open(dir.child(name), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | O_NOFOLLOW, 0o644),
    );
    try {
      await verifiedPhysical(realRoot, handle, path.join(realRoot, ...splitRelative(dir.nameOf(name))), relative);
      const { bytesWritten } = await handle.write(data, 0, data.length);
      if (bytesWritten !== data.length)
        throw new Error(`short write to ${relative}: ${bytesWritten} of ${data.length} bytes`);
    } finally {
      await handle.close().catch(() => undefined);
    }
  } finally {
    await dir.close();
  }
}

/** Removes a file inside the workspace (unlinked in its checked folder); false when it did not exist. */
export async function removeFileInside(realRoot: string, relative: string): Promise<boolean> {
  return inExistingParent(realRoot, relative, false, async (dir, name) => {
    try {
      await dir.call(() => unlink(dir.child(name)));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw error;
    }
    await dir.handle.sync().catch(() => undefined);
    return true;
  });
}

/** Removes an empty folder inside the workspace; false when it is not there or not empty. */
export async function removeEmptyDirInside(realRoot: string, relative: string): Promise<boolean> {
  return inExistingParent(realRoot, relative, false, (dir, name) =>
    rmdir(dir.child(name)).then(
      () => true,
      () => false,
    ),
  );
}

/** Runs `use` on the checked folder that holds `relative`'s last name; `missing` when that folder does not exist. */
async function inExistingParent<T>(
  realRoot: string,
  relative: string,
  missing: T,
  use: (dir: InsideDir, name: string) => Promise<T>,
): Promise<T> {
  const parts = splitRelative(relative);
  const name = parts.pop();
  if (name === undefined) return missing;
  const opened = await openDirInside(realRoot, parts, false).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  });
  if (!opened) return missing;
  try {
    return await use(opened.dir, name);
  } finally {
    await opened.dir.close();
  }
}

/** Creates a folder (and its missing parents) inside the workspace, each checked; returns those it created. */
export async function mkdirInside(realRoot: string, relative: string): Promise<string[]> {
  const { dir, created } = await openDirInside(realRoot, splitRelative(relative), true);
  await dir.close();
  return created;
}

/** Lists a folder inside the workspace, read through the descriptor that was checked; [] when it does not exist. */
export async function readdirInside(realRoot: string, relative: string): Promise<Dirent[]> {
  const opened = await openDirInside(realRoot, splitRelative(relative), false).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw error;
  });
  if (!opened) return [];
  try {
    const entries = await readdir(opened.dir.child(""), { withFileTypes: true });
    if (!PROC_FD) await opened.dir.recheck();
    return entries;
  } finally {
    await opened.dir.close();
  }
}

/**
 * Opens the folder `parts` below the real root, one component at a time, each opened relative to the
 * folder checked before it and checked itself (links inside the workspace are followed, since the
 * check is on what was opened). With `create`, missing components are made in the checked folder.
 */
async function openDirInside(
  realRoot: string,
  parts: readonly string[],
  create: boolean,
): Promise<{ dir: InsideDir; created: string[] }> {
  const created: string[] = [];
  let dir = new InsideDir(realRoot, await open(realRoot, constants.O_RDONLY | O_DIRECTORY), "");
  try {
    for (const part of parts) {
      const next = dir.child(part);
      let handle: FileHandle;
      let made = false;
      try {
        handle = await dir.call(() => open(next, constants.O_RDONLY | O_DIRECTORY));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "ENOENT" || !create) throw error;
        await dir
          .call(() => mkdir(next))
          .then(
            () => (made = true),
            (mkdirError: unknown) => {
              if ((mkdirError as NodeJS.ErrnoException).code !== "EEXIST") throw mkdirError;
            },
          );
        handle = await dir.call(() => open(next, constants.O_RDONLY | O_DIRECTORY));
      }
      const expected = dir.nameOf(part);
      let physical: string;
      try {
        physical = await verifiedPhysical(realRoot, handle, path.join(realRoot, ...splitRelative(expected)), expected);
      } catch (error) {
        await handle.close().catch(() => undefined);
        // The folder we just made turned out to be outside (its parent was moved out): take it back.
        if (made) await rmdir(next).catch(() => undefined);
        throw error;
      }
      if (made) created.push(physical);
      await dir.close();
      dir = new InsideDir(realRoot, handle, physical);
    }
  } catch (error) {
    await dir.close();
    throw error;
  }
  return { dir, created };
}

/** The descriptor's real path relative to the real root, or a {@link WorkspaceEscapeError} naming `shown`. */
async function verifiedPhysical(
  realRoot: string,
  handle: FileHandle,
  expectedPath: string,
  shown = expectedPath,
): Promise<string> {
  const physical = await physicalOf(realRoot, handle, expectedPath);
  if (physical === undefined) {
    throw new WorkspaceEscapeError(
      `Path ${JSON.stringify(shown)} leads outside the workspace ${realRoot} (a symbolic link, or a folder swapped for one while Builder worked); nothing was read or written there.`,
      { path: shown, workspace: realRoot },
    );
  }
  return physical;
}

/** Where the open object really is, relative to the real root (POSIX), or undefined when outside. */
async function physicalOf(realRoot: string, handle: FileHandle, expectedPath: string): Promise<string | undefined> {
  let real: string;
  if (PROC_FD) {
    real = await readlink(`/proc/self/fd/${handle.fd}`);
    if (real.endsWith(" (deleted)")) return undefined;
  } else {
    // No /proc: the real path must name the very object that is open (same device and inode).
    real = await realpath(expectedPath).catch(() => "");
    if (real === "") return undefined;
    const [opened, named] = await Promise.all([handle.stat(), stat(real).catch(() => undefined)]);
    if (!named || named.dev !== opened.dev || named.ino !== opened.ino) return undefined;
  }
  const fromRoot = path.relative(realRoot, real);
  if (fromRoot === "") return "";
  if (fromRoot === ".." || fromRoot.startsWith(`..${path.sep}`) || path.isAbsolute(fromRoot)) return undefined;
  return fromRoot.split(path.sep).join("/");
}

/** A workspace-relative POSIX path's names; ".." is refused (callers pass the sandbox's normalized paths). */
function splitRelative(relative: string): string[] {
  const parts = relative.split("/").filter((part) => part !== "" && part !== ".");
  if (parts.includes(".."))
    throw new WorkspaceEscapeError(`Path ${JSON.stringify(relative)} climbs out with "..".`, { path: relative });
  return parts;
}
