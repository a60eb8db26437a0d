import { applySearchReplace, locate, splitLines } from "../answer/search-replace.js";
import type { SearchReplace } from "../answer/changes.js";
import { diffLines } from "../workspace/diff.js";

/** Unchanged lines between two changed regions below which they become one edit. */
const MERGE_GAP = 3;

/** A changed region of the old file, [start, end) in its lines, with the lines that replace it. */
interface Region {
  start: number;
  end: number;
  lines: string[];
}

/**
 * The search/replace edits a model would write for a real change from `before` to `after`: one edit
 * per changed region, each SEARCH widened by context lines until the applier
 * ({@link applySearchReplace}) puts it exactly there in the file as the previous edits left it.
 * Undefined only when no such edits reproduce `after` (a change that leaves nothing unique to quote).
 * `shown` (a 0-based line of `before`): the lines the model was shown of a file shown in regions; the
 * context then grows toward shown lines first, as a model held by the grammar to quote only what it saw
 * would choose it.
 */
export function editsForChange(
  before: string,
  after: string,
  shown?: (line: number) => boolean,
): SearchReplace[] | undefined {
  const regions = changedRegions(splitLines(before), splitLines(after));
  const edits: SearchReplace[] = [];
  // The file as the applier sees it when it reaches the next edit, and where the previous edit ended in it.
  let lines = splitLines(before);
  let previousEnd: number | undefined;
  // Lines added minus lines removed by the edits so far: a region of the old file sits this much lower.
  let shift = 0;
  for (let i = 0; i < regions.length; i++) {
    const region = regions[i] as Region;
    const at = region.start + shift;
    let start = at;
    let end = region.end + shift;
    for (let widen = 0; !landsAt(lines, start, end, previousEnd); widen++) {
      const floor = previousEnd ?? 0;
      if (start <= floor && end >= lines.length) return undefined;
      const up = start > floor;
      const down = end < lines.length;
      // Lines past the previous edit are the old file's, `shift` lines lower.
      const upShown = up && shown?.(start - 1 - shift) === true;
      const downShown = down && shown?.(end - shift) === true;
      if (upShown !== downShown) {
        if (upShown) start--;
        else end++;
      } else if ((widen % 2 === 0 && up) || !down) start--;
      else end++;
      // Context that reaches the next region takes it into this edit: one SEARCH cannot quote lines another replaces.
      const next = regions[i + 1];
      if (next && end > next.start + shift) {
        region.lines.push(...lines.slice(region.end + shift, next.start + shift), ...next.lines);
        end = Math.max(end, next.end + shift);
        region.end = next.end;
        regions.splice(i + 1, 1);
      }
    }
    const replacement = [...lines.slice(start, at), ...region.lines, ...lines.slice(region.end + shift, end)];
    edits.push({ search: text(lines.slice(start, end)), replace: text(replacement) });
    lines = [...lines.slice(0, start), ...replacement, ...lines.slice(end)];
    shift += region.lines.length - (region.end - region.start);
    previousEnd = start + replacement.length;
  }
  const check = applySearchReplace(before, edits);
  return check.ok && check.content === after ? edits : undefined;
}

/** The changed regions of a line diff, those fewer than {@link MERGE_GAP} unchanged lines apart joined. */
function changedRegions(a: readonly string[], b: readonly string[]): Region[] {
  const regions: Region[] = [];
  let ia = 0;
  for (const op of diffLines(a, b)) {
    if (op.kind === " ") {
      ia++;
      continue;
    }
    let region = regions.at(-1);
    if (!region || ia - region.end > MERGE_GAP) {
      region = { start: ia, end: ia, lines: [] };
      regions.push(region);
    }
    // Lines between two joined regions are kept on both sides.
    region.lines.push(...a.slice(region.end, ia));
    region.end = ia;
    if (op.kind === "-") region.end = ++ia;
    else region.lines.push(op.line);
  }
  return regions;
}

/** Whether the applier would put the SEARCH `lines[start, end)` at `start`: a non-blank SEARCH, located there. */
function landsAt(lines: readonly string[], start: number, end: number, previousEnd: number | undefined): boolean {
  const search = lines.slice(start, end);
  if (!search.some((l) => l.trim() !== "")) return false;
  const found = locate(lines, search, previousEnd);
  return found.kind === "one" && found.start === start;
}

function text(lines: readonly string[]): string {
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}
