import path from "node:path";
import { applySearchReplace } from "./search-replace.js";
import type { AnswerChanges, FileChange, ResolvedChange } from "./changes.js";
import { wholeRewriteMessage, type LineSpan } from "./shown-lines.js";

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
  const noChange = allowsNoChange(allowed);
  if (answer.changes.length === 0 && !noChange)
    return { ok: false, problems: ["The answer changes no file; the task asks for a change to its files."] };
  for (const change of mergeSamePath(answer.changes)) {
    const file = normalisePath(change.path);
    const before = allowed.files.has(file) ? (allowed.files.get(file) ?? null) : null;
    const known = allowed.files.has(file);
    const badPath = known ? undefined : modelPathProblem(file);
    if (badPath !== undefined) {
      problems.push(`${shownPath(change.path)}: ${badPath}`);
      continue;
    }
    if (!known && !inAllowedFolder(file, allowed.folders)) {
      problems.push(
        noChange
          ? `${shownPath(change.path)}: the task names no file, so the answer may change none; give the explanation alone.`
          : `${shownPath(change.path)}: not one of the task's files (${[...allowed.files.keys()].join(", ")}) nor in a folder where the task allows new files.`,
      );
      continue;
    }
    const resolved = resolveOne(file, change, before, problems, allowed.shown?.get(file));
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
  shown: readonly LineSpan[] | undefined,
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
    // A file shown in regions cannot be written whole: the model never saw the rest of it.
    if (shown && before !== null) {
      problems.push(`${file}: ${wholeRewriteMessage(shown)}`);
      return undefined;
    }
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
  // JSON answers are not held to the shown lines while written (the text format's grammar is): here they are.
  const outcome = applySearchReplace(before, edits, { shown });
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

/** True when the task allows no change at all: it names no file and no folder for new files. */
export function allowsNoChange(allowed: AllowedFiles): boolean {
  return allowed.files.size === 0 && allowed.folders.length === 0;
}

/** The longest path the model may name for a new file, in bytes: far below PATH_MAX, and readable in a report. */
export const MAX_MODEL_PATH_BYTES = 240;
/** The longest name (one path segment) the model may choose, in bytes. */
export const MAX_MODEL_NAME_BYTES = 100;

/**
 * What is wrong with a path the model chose for a new file, if anything: too long, control
 * characters, or characters that are not a plain file name. It is the model's mistake (a repair round
 * shows it the problem), never the user's input, so it is judged before the path reaches a file system.
 */
export function modelPathProblem(file: string): string | undefined {
  if (Buffer.byteLength(file) > MAX_MODEL_PATH_BYTES)
    return `the path is ${Buffer.byteLength(file)} bytes long; new files take paths of at most ${MAX_MODEL_PATH_BYTES} bytes.`;
  const long = file.split("/").find((name) => Buffer.byteLength(name) > MAX_MODEL_NAME_BYTES);
  if (long !== undefined)
    return `a name in the path is ${Buffer.byteLength(long)} bytes long; new files take names of at most ${MAX_MODEL_NAME_BYTES} bytes.`;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(file)) return "the path holds control characters.";
  const name = String.raw`[\p{L}\p{N}._@+()[\]{},=~ -]+`;
  if (!new RegExp(`^${name}(/${name})*$`, "u").test(file))
    return "the path holds characters that are not a plain file name (letters, digits, spaces, '/' between names, and . _ - @ + ( ) [ ] { } , = ~).";
  return undefined;
}

/** A model's path as shown in a problem or an error: quoted, and cut to a readable length (with its size) when long. */
export function shownPath(file: string): string {
  return file.length > 80
    ? `${JSON.stringify(file.slice(0, 60))}… (${Buffer.byteLength(file)} bytes)`
    : JSON.stringify(file);
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
