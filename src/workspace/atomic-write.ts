import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import path from "node:path";

/** Options for {@link writeFileAtomic}. */
export interface AtomicWriteOptions {
  /** File mode; applied exactly (not masked by the umask) so that restores are byte- and mode-identical. */
  mode?: number;
  /** The temp file to write first (same folder as the target); default: a unique hidden name. */
  tempPath?: string;
  /** Called after the temp file is complete and synced, just before the rename: lets tests crash there. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

/**
 * For files outside a workspace (caches, `--out` files); workspace files go through
 * `WorkspaceSandbox.writeFile` and `.builder` files through `writeBuilderFile`, which check every folder.
 *
 * Writes a file so that readers see either the old content or the new, never a partial file:
 * write a temp file in the same folder, fsync it, rename it over the target, fsync the folder.
 * A number as the third argument is the mode, masked by the umask (the historical signature).
 */
export async function writeFileAtomic(
  filePath: string,
  data: string | Uint8Array,
  modeOrOptions?: number | AtomicWriteOptions,
): Promise<void> {
  const options: AtomicWriteOptions = typeof modeOrOptions === "number" ? {} : (modeOrOptions ?? {});
  const createMode = typeof modeOrOptions === "number" ? modeOrOptions : (options.mode ?? 0o644);
  const dir = path.dirname(filePath);
  await mkdir(dir, { recursive: true });
  const temp =
    options.tempPath ??
    path.join(dir, `.${path.basename(filePath)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", createMode);
  try {
    await handle.writeFile(data);
    if (options.mode !== undefined) await handle.chmod(options.mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await options.beforeRename?.(temp);
    await rename(temp, filePath);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dir);
}

/** Makes a rename or removal in `dir` durable. Not every platform allows opening a folder, so failures are ignored. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // best effort
  }
}
