import path from "node:path";
import { applySearchReplace } from "./apply-edits.js";
import type { AnswerChanges, FileChange, ResolvedChange } from "./changes.js";

/** The files an answer may change: the task's files (content as read; null: absent) and folders where it may create files. */
export interface AllowedFiles {
  /** Workspace-relative path → content when the prompt was built (null: the file does not exist). */
  files: ReadonlyMap<string, string | null>;
  /** Workspace-relative folders (no trailing slash; "" is the root) where new files may be created. */
  folders: readonly string[];
  /** Files the prompt showed in regions (too large for the window): the lines shown, 1-based, inclusive. */
  shown?: ReadonlyMap<string, ReadonlyArray<{ start: number; end: number }>>;
}

/** The result of {@link resolveChanges}: every change's new content, or what was wrong with the answer. */
export type Resolution = { ok: true; changes: ResolvedChange[]; notes: string[] } | { ok: false; problems: string[] };

/**
 * Turns the model's changes into complete new contents, against the files as Builder read them. A
 * path outside the task's files (or, for a new file, outside the allowed folders), an edit of a file
 * that does not exist, or an edit that does not apply is a problem: the answer is sent back, never guessed at.
 */
export function resolveChanges(answer: AnswerChanges, allowed: AllowedFiles): Resolution {
  const problems: string[] = [];
  const changes: ResolvedChange[] = [];
  const notes: string[] = [];
  const seen = new Map<string, number>();
  for (const change of mergeSamePath(answer.changes)) {
    const file = normalisePath(change.path);
    seen.set(file, (seen.get(file) ?? 0) + 1);
    const before = allowed.files.has(file) ? (allowed.files.get(file) ?? null) : null;
    const known = allowed.files.has(file);
    if (!known && !inAllowedFolder(file, allowed.folders)) {
      problems.push(
        `${change.path}: not one of the task's files (${[...allowed.files.keys()].join(", ")}) nor in a folder where the task allows new files.`,
      );
      continue;
    }
    const resolved = resolveOne(file, change, before, problems);
    if (resolved) {
      if (resolved.how) notes.push(`${file}: ${resolved.how}`);
      changes.push(resolved.change);
    }
  }
  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, changes, notes };
}

function resolveOne(
  file: string,
  change: FileChange,
  before: string | null,
  problems: string[],
): { change: ResolvedChange; how?: string } | undefined {
  if (change.action === "delete") {
    if (before === null) {
      problems.push(`${file}: cannot delete a file that does not exist.`);
      return undefined;
    }
    return { change: { path: file, action: "delete", edits: [], before, after: null } };
  }
  const edits = change.edits ?? [];
  if (edits.length === 0 || change.action === "create") {
    if (change.content === undefined) {
      problems.push(
        `${file}: a ${change.action} needs ${change.action === "create" ? "the whole content" : "SEARCH/REPLACE edits"}.`,
      );
      return undefined;
    }
    return {
      change: { path: file, action: before === null ? "create" : "edit", edits: [], before, after: change.content },
    };
  }
  if (before === null) {
    problems.push(`${file}: does not exist, so it cannot be edited; create it with its whole content.`);
    return undefined;
  }
  const outcome = applySearchReplace(before, edits);
  if (!outcome.ok) {
    for (const mismatch of outcome.mismatches) problems.push(`${file}: ${mismatch.message}`);
    return undefined;
  }
  const loose = outcome.matches.filter((m) => m.how === "whitespace").length;
  return {
    change: { path: file, action: "edit", edits, before, after: outcome.content },
    how:
      loose > 0 ? `${loose} of ${edits.length} edit(s) matched only with whitespace ignored (re-indented)` : undefined,
  };
}

/** Several changes of one path are one change: edits are concatenated in order; anything else, the later one wins. */
function mergeSamePath(changes: readonly FileChange[]): FileChange[] {
  const byPath = new Map<string, FileChange>();
  for (const change of changes) {
    const key = normalisePath(change.path);
    const previous = byPath.get(key);
    const bothEdits =
      previous?.action === "edit" &&
      change.action === "edit" &&
      previous.content === undefined &&
      change.content === undefined;
    byPath.set(key, bothEdits ? { ...previous, edits: [...(previous.edits ?? []), ...(change.edits ?? [])] } : change);
  }
  return [...byPath.values()];
}

/** A model's path as a workspace-relative POSIX path (the sandbox checks it again before anything is written). */
export function normalisePath(file: string): string {
  return path.posix.normalize(file.trim().replace(/\\/g, "/")).replace(/^(\.\/)+/, "");
}

function inAllowedFolder(file: string, folders: readonly string[]): boolean {
  if (file.startsWith("../") || file.startsWith("/") || file === "..") return false;
  const dir = path.posix.dirname(file);
  return folders.some((folder) => folder === "" || dir === folder || dir.startsWith(`${folder}/`));
}

/**
 * The allowed files of a task: each named file (read or absent) and, for new files, the folders of
 * the task's files plus folders the task names with a trailing slash.
 */
export function allowedFilesFor(
  taskFiles: ReadonlyArray<{ path: string; content?: string; status: string }>,
  namedFolders: readonly string[] = [],
): AllowedFiles {
  const files = new Map<string, string | null>();
  const folders = new Set<string>(namedFolders.map((f) => normalisePath(f).replace(/\/$/, "").replace(/^\.$/, "")));
  for (const file of taskFiles) {
    files.set(file.path, file.status === "present" ? (file.content ?? "") : null);
    const dir = path.posix.dirname(file.path);
    folders.add(dir === "." ? "" : dir);
  }
  return { files, folders: [...folders] };
}
