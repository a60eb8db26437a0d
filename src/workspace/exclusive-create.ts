import { randomBytes } from "node:crypto";
import { link, open, rm } from "node:fs/promises";
import path from "node:path";

/**
 * Creates `file` holding `data` only if it does not exist yet, atomically and complete: the data is
 * written and synced to a temp file first, then hard-linked to `file` (which fails with EEXIST like an
 * O_EXCL create, but never shows a reader a half-written file). Returns false when `file` existed.
 */
export async function createExclusive(file: string, data: string | Uint8Array, mode: number): Promise<boolean> {
  const temp = path.join(
    path.dirname(file),
    `${path.basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`,
  );
  const handle = await open(temp, "wx", mode);
  try {
    await handle.writeFile(data);
    await handle.chmod(mode);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await link(temp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw error;
  } finally {
    await rm(temp, { force: true });
  }
}
