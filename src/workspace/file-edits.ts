/**
 * Changes Builder makes to the real workspace files: whole-file writes and deletions, each checked
 * against the hash it expects to find. (Verification's scratch copy takes a suggestion's
 * `ProposedFile`s instead, src/verify/proposed-files.ts: content only, nothing to expect.)
 */
export type FileEdit = WriteEdit | DeleteEdit;

/** Expected state of a file before an edit: its SHA-256 when Builder read it, null when it did not exist. */
export type ExpectedHash = string | null;

/** Replace (or create) a whole file. */
export interface WriteEdit {
  kind: "write";
  /** Workspace-relative or absolute (inside the workspace), POSIX or Windows style. */
  path: string;
  content: string | Uint8Array;
  /** File mode to set; default: keep the current mode, or the usual default for new files. */
  mode?: number;
  /** Refuse (unless forced) when the file no longer matches this; undefined skips the check. */
  expected?: ExpectedHash;
}

/** Delete a file (undo uses it to remove files a run created). */
export interface DeleteEdit {
  kind: "delete";
  path: string;
  expected?: ExpectedHash;
}

/** The bytes a file should hold after `edit`, given its current bytes (null: absent), or null to delete it. */
export function contentAfter(edit: FileEdit, _current: Buffer | null): Buffer | null {
  switch (edit.kind) {
    case "write":
      return Buffer.from(edit.content);
    case "delete":
      return null;
  }
}
