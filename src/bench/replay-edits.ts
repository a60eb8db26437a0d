import { applySearchReplace, splitLines } from "../answer/apply-edits.js";
import type { SearchReplace } from "../answer/changes.js";
import { diffLines } from "../workspace/diff.js";

/** Unchanged lines between two changed regions below which they become one edit. */
const MERGE_GAP = 3;

/**
 * The search/replace edits a model would write for a real change from `before` to `after`: one edit
 * per changed region, each SEARCH widened by context lines until it occurs once in the file (or
 * after the previous edit). Undefined when no such edits reproduce `after` exactly.
 */
export function editsForChange(before: string, after: string): SearchReplace[] | undefined {
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  // Regions as [start, end) in `a` with their replacement lines from `b`.
  const regions: Array<{ start: number; end: number; lines: string[] }> = [];
  let ia = 0;
  for (const op of ops) {
    if (op.kind === " ") {
      ia++;
      continue;
    }
    const last = regions.at(-1);
    if (!last || ia - last.end > MERGE_GAP) regions.push({ start: ia, end: ia, lines: [] });
    const region = regions.at(-1) as { start: number; end: number; lines: string[] };
    // Lines between two merged regions are kept on both sides.
    if (ia > region.end) {
      region.lines.push(...a.slice(region.end, ia));
      region.end = ia;
    }
    if (op.kind === "-") {
      ia++;
      region.end = ia;
    } else region.lines.push(op.line);
  }
  const edits: SearchReplace[] = [];
  let floor = 0;
  for (const region of regions) {
    let { start, end } = region;
    let before_: string[] = [];
    let after_: string[] = [];
    const text = (lines: readonly string[]): string => (lines.length === 0 ? "" : lines.join("\n") + "\n");
    for (let widen = 0; ; widen++) {
      const search = a.slice(start, end);
      if (search.some((l) => l.trim() !== "") && occurrences(a, search, floor) === 1) break;
      if (start <= floor && end >= a.length) return undefined;
      if (widen % 2 === 0 && start > floor) {
        start--;
        before_ = [a[start] as string, ...before_];
      } else if (end < a.length) {
        after_ = [...after_, a[end] as string];
        end++;
      } else {
        start--;
        before_ = [a[start] as string, ...before_];
      }
    }
    edits.push({ search: text(a.slice(start, end)), replace: text([...before_, ...region.lines, ...after_]) });
    floor = end;
  }
  const check = applySearchReplace(before, edits);
  return check.ok && check.content === after ? edits : undefined;
}

function occurrences(lines: readonly string[], search: readonly string[], from: number): number {
  let count = 0;
  for (let i = 0; i + search.length <= lines.length; i++) if (search.every((l, j) => lines[i + j] === l)) count++;
  // Before the first edit a SEARCH must be unique in the whole file; later ones after the previous edit.
  if (from > 0 && count > 1) {
    let after = 0;
    for (let i = from; i + search.length <= lines.length; i++) if (search.every((l, j) => lines[i + j] === l)) after++;
    const first = firstAt(lines, search);
    return first >= from ? 1 : after === 0 ? 0 : 2;
  }
  return count;
}

function firstAt(lines: readonly string[], search: readonly string[]): number {
  for (let i = 0; i + search.length <= lines.length; i++) if (search.every((l, j) => lines[i + j] === l)) return i;
  return -1;
}
