import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { ApplyError } from "../errors/errors.js";
import type { InsideFile } from "./safe-fs.js";

/** A file's content as Builder saw it: absent, or bytes with their hash and mode. */
export type FileState = { exists: false; hash: null } | { exists: true; hash: string; content: Buffer; mode: number };

/** Hex SHA-256 of some bytes or text (UTF-8). */
export function sha256(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

/**
 * Reads a file's state by path; a missing file is `{ exists: false }`, a folder is an error naming it.
 * Workspace files are read with `WorkspaceSandbox.readState` instead, which checks the file it opened.
 */
export async function readFileState(absolute: string): Promise<FileState> {
  let content: Buffer;
  let mode: number;
  try {
    const stats = await stat(absolute);
    if (stats.isDirectory())
      throw new ApplyError(`${absolute} is a folder, not a file; Builder only writes files.`, { path: absolute });
    mode = stats.mode & 0o7777;
    content = await readFile(absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return { exists: false, hash: null };
    throw error;
  }
  return { exists: true, hash: sha256(content), content, mode };
}

/** The state of a file read with the sandbox's safe reads (undefined: it does not exist). */
export function stateOf(file: InsideFile | undefined): FileState {
  return file
    ? { exists: true, hash: sha256(file.content), content: file.content, mode: file.mode }
    : { exists: false, hash: null };
}
