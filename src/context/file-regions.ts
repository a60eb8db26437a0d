/**
 * A task file too large for the context window, shown in part: its outline (declarations with line
 * numbers) and the regions most relevant to the task, chosen by the symbols and words the objective
 * and acceptance criteria name and by the repository map's links (symbols other files import from
 * it). Each region carries whole declarations and a few lines around them, so that an edit can quote
 * them exactly; the answer grammar then lets SEARCH quote only the lines shown.
 */

/** Lines shown of a file, 1-based and inclusive, with why. */
export interface FileRegion {
  start: number;
  end: number;
  reason: string;
}

/** One declaration of the outline. */
export interface OutlineEntry {
  name: string;
  kind: string;
  /** 1-based, inclusive. */
  start: number;
  end: number;
  indent: number;
}

/** What the prompt shows of a large file. */
export interface RegionView {
  regions: FileRegion[];
  /** The section's text: the outline, then each region fenced. */
  content: string;
  /** Lines in the file. */
  lines: number;
}

/** Lines around each chosen declaration (and each line that names a symbol of the task). */
const CONTEXT_LINES = 3;
/** The most lines one region shows (a 2,000-line class: its members are regions of their own). */
const MAX_REGION_LINES = 160;
/** Outline entries shown at most. */
const MAX_OUTLINE = 200;

const TOP =
  /^(\s*)(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(function\*?|class|interface|type|enum|namespace|const|let|var)\s+([A-Za-z_$][\w$]*)/;
const MEMBER =
  /^(\s+)(?:(?:public|private|protected|static|readonly|override|abstract|async|get|set)\s+)*\*?([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\(/;
const NOT_MEMBERS = new Set(["if", "for", "while", "switch", "catch", "return", "function", "await", "typeof", "new"]);
const STOP_WORDS = new Set(
  "the and for with from that this into when each then than add fix use make should must not are has have its new all any".split(
    " ",
  ),
);

/**
 * The declarations of a file, by their lines: top-level ones and (indented at most four columns)
 * class and object members. A declaration runs to the line before the next one at its indentation or
 * less. Language-agnostic enough for TypeScript and JavaScript, which is what Builder maps.
 */
export function outlineLines(lines: readonly string[]): OutlineEntry[] {
  const entries: OutlineEntry[] = [];
  lines.forEach((line, i) => {
    const top = TOP.exec(line);
    // Variables count at the top level only: a function's locals are no declarations of the file.
    const variable = top && ["const", "let", "var"].includes(top[2] as string);
    if (top && (top[1] as string).length <= (variable ? 0 : 4)) {
      entries.push({
        name: top[3] as string,
        kind: top[2] as string,
        start: i + 1,
        end: i + 1,
        indent: (top[1] as string).length,
      });
      return;
    }
    const member = MEMBER.exec(line);
    if (
      member &&
      (member[1] as string).length <= 4 &&
      !NOT_MEMBERS.has(member[2] as string) &&
      !line.trimEnd().endsWith(";")
    )
      entries.push({
        name: member[2] as string,
        kind: "method",
        start: i + 1,
        end: i + 1,
        indent: (member[1] as string).length,
      });
  });
  entries.forEach((entry, k) => {
    const next = entries.slice(k + 1).find((e) => e.indent <= entry.indent);
    let end = next ? next.start - 1 : lines.length;
    while (end > entry.start && (lines[end - 1] ?? "").trim() === "") end--;
    entry.end = end;
  });
  return entries;
}

/** Identifiers (exact) and lower-case words (camelCase and snake_case split) the task names. */
export function taskTerms(text: string): { names: Set<string>; words: Set<string> } {
  const names = new Set<string>();
  const words = new Set<string>();
  for (const match of text.matchAll(/[A-Za-z_$][\w$]{2,}/g)) {
    names.add(match[0]);
    for (const word of splitWords(match[0])) if (word.length >= 3 && !STOP_WORDS.has(word)) words.add(word);
  }
  return { names, words };
}

function splitWords(identifier: string): string[] {
  return identifier
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.toLowerCase())
    .filter(Boolean);
}

interface Candidate {
  start: number;
  end: number;
  score: number;
  reason: string;
}

/** Scores every declaration and every line that names a task identifier. */
function candidates(
  lines: readonly string[],
  outline: readonly OutlineEntry[],
  terms: { names: Set<string>; words: Set<string> },
  linked: ReadonlySet<string>,
): Candidate[] {
  const found: Candidate[] = [];
  for (const entry of outline) {
    const nameWords = splitWords(entry.name).filter((w) => terms.words.has(w));
    let score = 0;
    let reason = "";
    if (terms.names.has(entry.name)) {
      score = 100;
      reason = `the task names ${entry.name}`;
    } else if (nameWords.length > 0) {
      score = 10 * nameWords.length;
      reason = `${entry.name} matches the task's words (${nameWords.join(", ")})`;
    } else if (linked.has(entry.name)) {
      score = 2;
      reason = `${entry.name} is imported by files the task touches (repository map)`;
    }
    if (score > 0) found.push({ start: entry.start, end: entry.end, score, reason });
  }
  // Lines that use a name the task gives: only names that look like code (camelCase, snake_case, a
  // digit) or that the file declares, so that "return" or "Make" in the objective select nothing.
  const declared = new Set(outline.map((e) => e.name));
  const codeNames = new Set([...terms.names].filter((n) => declared.has(n) || /[a-z][A-Z]|_|\d|\$/.test(n)));
  lines.forEach((line, i) => {
    const named = [...line.matchAll(/[A-Za-z_$][\w$]{2,}/g)].map((m) => m[0]).find((w) => codeNames.has(w));
    if (named) found.push({ start: i + 1, end: i + 1, score: 5, reason: `uses ${named}` });
  });
  return found.sort((a, b) => b.score - a.score || a.start - b.start);
}

/** Sorts and merges regions that overlap or touch, joining their reasons. */
export function mergeRegions(regions: readonly FileRegion[]): FileRegion[] {
  const sorted = [...regions].sort((a, b) => a.start - b.start);
  const merged: FileRegion[] = [];
  for (const region of sorted) {
    const last = merged[merged.length - 1];
    if (last && region.start <= last.end + 1) {
      last.end = Math.max(last.end, region.end);
      if (!last.reason.includes(region.reason)) last.reason = `${last.reason}; ${region.reason}`;
    } else merged.push({ ...region });
  }
  return merged;
}

/**
 * Chooses the regions of `content` to show within `budgetBytes`: the best-scored declarations and
 * lines first (each with {@link CONTEXT_LINES} around it, at most {@link MAX_REGION_LINES}), then
 * the imports at the top when there is room. With nothing named, the start of the file.
 */
export function chooseRegions(
  content: string,
  objective: string,
  budgetBytes: number,
  linked: ReadonlySet<string> = new Set(),
): RegionView {
  const lines = content.replace(/\n$/, "").split("\n");
  const outline = outlineLines(lines);
  const bytesOf = (r: { start: number; end: number }): number =>
    lines.slice(r.start - 1, r.end).reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0);
  const chosen: FileRegion[] = [];
  let used = 0;
  const take = (region: FileRegion): boolean => {
    const start = Math.max(1, region.start - CONTEXT_LINES);
    const end = Math.min(lines.length, region.end + CONTEXT_LINES, start + MAX_REGION_LINES - 1);
    const extra = bytesOf({ start, end });
    if (used + extra > budgetBytes) return false;
    chosen.push({ start, end, reason: region.reason });
    used += extra;
    return true;
  };
  const ranked = candidates(lines, outline, taskTerms(objective), linked);
  const firstDeclaration = outline[0]?.start ?? Math.min(lines.length, 20);
  let importsShown = firstDeclaration <= 1;
  for (const candidate of ranked) {
    // The imports come right after what the task names: an edit often needs one more.
    if (!importsShown && candidate.score < 100) {
      importsShown = true;
      take({ start: 1, end: Math.min(firstDeclaration - 1, 40), reason: "imports" });
    }
    if (chosen.some((r) => candidate.start >= r.start && candidate.end <= r.end)) continue;
    take(candidate);
  }
  if (!importsShown) take({ start: 1, end: Math.min(firstDeclaration - 1, 40), reason: "imports" });
  if (chosen.length === 0)
    take({ start: 1, end: MAX_REGION_LINES, reason: "start of the file (the task names nothing in it)" });
  const regions = mergeRegions(chosen);
  return { regions, content: renderRegions(lines, outline, regions), lines: lines.length };
}

/** The outline, then each region in its own fence, headed by its line numbers and why it is shown. */
function renderRegions(
  lines: readonly string[],
  outline: readonly OutlineEntry[],
  regions: readonly FileRegion[],
): string {
  const fence = "`".repeat(
    Math.max(3, ...lines.map((l) => (l.match(/`+/g) ?? []).reduce((m, r) => Math.max(m, r.length + 1), 0))),
  );
  const entries = outline
    .slice(0, MAX_OUTLINE)
    .map((e) => `${" ".repeat(e.indent)}L${e.start}-${e.end} ${e.kind} ${e.name}`);
  const more = outline.length > MAX_OUTLINE ? [`… ${outline.length - MAX_OUTLINE} more declarations`] : [];
  const parts = [
    `This file has ${lines.length} lines, too many for the context window. Shown: its outline (declarations with line numbers) and the regions relevant to the task. An edit's SEARCH may quote only lines shown in these regions, exactly as shown (without line numbers); lines not shown cannot be edited.`,
    "",
    "Outline:",
    ...entries,
    ...more,
  ];
  for (const region of regions) {
    parts.push(
      "",
      `Lines ${region.start}-${region.end} (${region.reason}):`,
      fence,
      ...lines.slice(region.start - 1, region.end),
      fence,
    );
  }
  return parts.join("\n");
}
