import { copyFile, readFile } from "node:fs/promises";
import { writeFileAtomic } from "./atomic-write.js";

/** What {@link writeWithBackup} did. */
export interface BackedUpWrite {
  written: string;
  /** Where the previous contents were copied; undefined when there was no file or it was identical. */
  backup?: string;
}

/**
 * Writes `text` to `file` atomically; a file already there with other contents (a hand-written
 * Modelfile, a previous config) is first copied to `<file>.bak-<time>`, so nothing is lost.
 */
export async function writeWithBackup(file: string, text: string): Promise<BackedUpWrite> {
  const previous = await readFile(file, "utf8").catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return undefined;
    throw error;
  });
  let backup: string | undefined;
  if (previous !== undefined && previous !== text) {
    backup = `${file}.bak-${new Date().toISOString().replace(/[:.]/g, "-")}`;
    await copyFile(file, backup);
  }
  await writeFileAtomic(file, text);
  return { written: file, backup };
}
