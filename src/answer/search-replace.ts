import type { SearchReplace } from "./changes.js";
import { EDIT_QUOTES_UNSHOWN_LINES, isShownLine, unshownQuoteMessage, type LineSpan } from "./shown-lines.js";

/** Where one edit landed: 1-based first line and how it matched. */
export interface EditMatch {
  line: number;
  how: "exact" | "whitespace";
}

/** An edit that could not be applied, with what the model should see to fix it. */
export interface EditMismatch {
  /** Index of the edit in its change. */
  index: number;
  reason: "not-found" | "ambiguous" | "empty-search" | typeof EDIT_QUOTES_UNSHOWN_LINES;
  message: string;
}

/** How {@link applySearchReplace} judges edits beyond the file's text. */
export interface ApplyOptions {
  /**
   * The file was shown to the model in regions (1-based lines of `content`): an edit whose SEARCH
   * quotes a line outside them is refused ({@link EDIT_QUOTES_UNSHOWN_LINES}), and a mismatch's hint
   * names only lines shown. Lines an earlier edit of the same change wrote count as shown.
   */
  shown?: readonly LineSpan[];
}

/** The result of {@link applySearchReplace}: the new content, or every edit that did not apply. */
export type EditOutcome =
  { ok: true; content: string; matches: EditMatch[] } | { ok: false; mismatches: EditMismatch[] };

/** How many lines around the closest match a mismatch shows the model. */
const NEAREST_CONTEXT = 3;

/**
 * Applies search/replace edits to `content`, in order. Each SEARCH must be a run of whole lines of the
 * file as it is after the previous edits: matched exactly first, then with leading and trailing
 * whitespace of each line ignored (the replacement is then re-indented by the same amount, as Aider
 * does). A SEARCH found more than once is ambiguous, unless an earlier edit of the same file came
 * before: then its first occurrence after that edit is meant (edits of one file are written in file
 * order). Nothing is guessed: any edit that does not apply makes the whole change fail.
 */
export function applySearchReplace(
  content: string,
  edits: readonly SearchReplace[],
  options: ApplyOptions = {},
): EditOutcome {
  const endsWithNewline = content.endsWith("\n");
  let lines = splitLines(content);
  // Each current line's number in `content` (0: written by an earlier edit), to judge what the model saw.
  let origin = lines.map((_, i) => i + 1);
  const { shown } = options;
  const seen = (i: number): boolean => !shown || (origin[i] ?? 0) === 0 || isShownLine(shown, origin[i] as number);
  const matches: EditMatch[] = [];
  const mismatches: EditMismatch[] = [];
  let previousEnd: number | undefined;
  edits.forEach((edit, index) => {
    const search = splitLines(edit.search);
    if (search.length === 0 || search.every((l) => l.trim() === "")) {
      mismatches.push({
        index,
        reason: "empty-search",
        message: `edit ${index + 1}: SEARCH is empty; quote at least one non-blank line of the file to replace.`,
      });
      return;
    }
    const found = locate(lines, search, previousEnd);
    if (found.kind === "missing") {
      mismatches.push({
        index,
        reason: "not-found",
        message: `edit ${index + 1}: SEARCH does not match any run of lines of the file.\n${nearestLines(lines, search, seen)}`,
      });
      return;
    }
    if (found.kind === "ambiguous") {
      mismatches.push({
        index,
        reason: "ambiguous",
        message: `edit ${index + 1}: SEARCH matches ${found.lines.length} places (lines ${found.lines.map((l) => l + 1).join(", ")}); quote more lines so it matches one.`,
      });
      return;
    }
    const unshown = origin.slice(found.start, found.start + search.length).filter((n, k) => !seen(found.start + k));
    if (shown && unshown.length > 0) {
      mismatches.push({
        index,
        reason: EDIT_QUOTES_UNSHOWN_LINES,
        message: unshownQuoteMessage(index, unshown, shown),
      });
      return;
    }
    const replacement = reindent(
      splitLines(edit.replace),
      search,
      lines.slice(found.start, found.start + search.length),
      found.how,
    );
    lines = [...lines.slice(0, found.start), ...replacement, ...lines.slice(found.start + search.length)];
    origin = [
      ...origin.slice(0, found.start),
      ...replacement.map(() => 0),
      ...origin.slice(found.start + search.length),
    ];
    matches.push({ line: found.start + 1, how: found.how });
    previousEnd = found.start + replacement.length;
  });
  if (mismatches.length > 0) return { ok: false, mismatches };
  return { ok: true, content: joinLines(lines, endsWithNewline || content === ""), matches };
}

/** Lines of a text; a final newline ends the last line rather than starting an empty one. */
export function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  return lines;
}

function joinLines(lines: readonly string[], finalNewline: boolean): string {
  if (lines.length === 0) return "";
  return lines.join("\n") + (finalNewline ? "\n" : "");
}

/** Where a SEARCH lands: at one line (0-based), at several (ambiguous), or nowhere. */
export type Located =
  | { kind: "one"; start: number; how: "exact" | "whitespace" }
  | { kind: "ambiguous"; lines: number[] }
  | { kind: "missing" };

/**
 * Where {@link applySearchReplace} puts `search` in `lines`: the one exact match, else the first at or
 * after `after` (the previous edit's end), else the same with whitespace ignored.
 */
export function locate(lines: readonly string[], search: readonly string[], after: number | undefined): Located {
  for (const how of ["exact", "whitespace"] as const) {
    const same =
      how === "exact"
        ? (a: string, b: string): boolean => a === b
        : (a: string, b: string): boolean => a.trim() === b.trim();
    const starts: number[] = [];
    for (let i = 0; i + search.length <= lines.length; i++) {
      if (search.every((line, j) => same(lines[i + j] as string, line))) starts.push(i);
    }
    if (starts.length === 1) return { kind: "one", start: starts[0] as number, how };
    if (starts.length > 1) {
      const next = after === undefined ? undefined : starts.find((s) => s >= after);
      if (next !== undefined) return { kind: "one", start: next, how };
      return { kind: "ambiguous", lines: starts };
    }
  }
  return { kind: "missing" };
}

/** When the match ignored indentation, shifts the replacement's indentation by the difference the match showed. */
function reindent(
  replacement: string[],
  search: readonly string[],
  matched: readonly string[],
  how: "exact" | "whitespace",
): string[] {
  if (how === "exact") return replacement;
  const index = search.findIndex((l) => l.trim() !== "");
  const from = leading(search[index] ?? "");
  const to = leading(matched[index] ?? "");
  if (from === to) return replacement;
  return replacement.map((line) => {
    if (line.trim() === "") return line;
    if (from.length > 0 && line.startsWith(from)) return to + line.slice(from.length);
    if (from.length === 0) return to + line;
    return line;
  });
}

function leading(line: string): string {
  return /^\s*/.exec(line)?.[0] ?? "";
}

/**
 * The file lines most like the SEARCH's first non-blank line, with line numbers, for a repair round;
 * of a file shown in regions, only lines the model was shown (`seen`, by 0-based line).
 */
function nearestLines(lines: readonly string[], search: readonly string[], seen: (i: number) => boolean): string {
  const probe = (search.find((l) => l.trim() !== "") ?? "").trim();
  let best = -1;
  let bestScore = 0;
  lines.forEach((line, i) => {
    if (!seen(i)) return;
    const score = similarity(line.trim(), probe);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  });
  if (best < 0) return "No line of the file resembles its first line; quote the file's lines exactly as shown.";
  const from = Math.max(0, best - NEAREST_CONTEXT);
  const to = Math.min(lines.length, best + NEAREST_CONTEXT + 1);
  const shown = lines
    .slice(from, to)
    .map((line, i) => (seen(from + i) ? `${String(from + i + 1).padStart(5)}| ${line}` : undefined))
    .filter((line) => line !== undefined);
  return `The nearest lines of the file (quote them exactly, without the line numbers):\n${shown.join("\n")}`;
}

/** Dice coefficient of character bigrams: cheap, and good enough to point at the right place. */
function similarity(a: string, b: string): number {
  if (a === b) return 1;
  if (a.length < 2 || b.length < 2) return 0;
  const grams = new Map<string, number>();
  for (let i = 0; i < a.length - 1; i++) grams.set(a.slice(i, i + 2), (grams.get(a.slice(i, i + 2)) ?? 0) + 1);
  let shared = 0;
  for (let i = 0; i < b.length - 1; i++) {
    const gram = b.slice(i, i + 2);
    const left = grams.get(gram) ?? 0;
    if (left > 0) {
      shared++;
      grams.set(gram, left - 1);
    }
  }
  return (2 * shared) / (a.length + b.length - 2);
}
