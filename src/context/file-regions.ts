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

/** Lines on each side of a line that names the task's symbols: enough to quote it exactly, and what surrounds it. */
const MARGIN = 6;
/** The most lines a declaration the task names shows before the growth phase (a 2,000-line class: its members seed regions of their own). */
const MAX_SEED_LINES = 160;
/** The head of the file (its imports and header) shows at most this many lines, and at most this share of the budget. */
const MAX_HEAD_LINES = 60;
const MAX_HEAD_SHARE = 1 / 3;
/** Outline entries shown at most. */
const MAX_OUTLINE = 200;
/** A word of the task on more than this share of the file's lines locates nothing (and at least 3 lines may hold it). */
const COMMON_WORD_SHARE = 0.1;
/** A region's reason names at most this many of the reasons merged into it. */
const MAX_REASONS = 3;

const TOP =
  /^(\s*)(?:export\s+)?(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(function\*?|class|interface|type|enum|namespace|const|let|var)\s+([A-Za-z_$][\w$]*)/;
const MEMBER =
  /^(\s+)(?:(?:public|private|protected|static|readonly|override|abstract|async|get|set)\s+)*\*?([A-Za-z_$][\w$]*)\s*(?:<[^>]*>)?\s*\(/;
const NOT_MEMBERS = new Set(["if", "for", "while", "switch", "catch", "return", "function", "await", "typeof", "new"]);
/** English glue and TypeScript keywords: in an objective they locate nothing ("return" is on every other line). */
const STOP_WORDS = new Set(
  [
    "the and for with from that this into when each then than add fix use make should must not are has have its new all any",
    "return const let var function export import async await type interface class extends implements default",
    "string number boolean true false null undefined void new typeof instanceof else case break continue throw try catch",
  ]
    .join(" ")
    .split(" "),
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

/** A place worth showing: a focus line, the span it wants shown first, its score and why. */
interface Seed {
  focus: number;
  start: number;
  end: number;
  score: number;
  reason: string;
}

/** A crude English stem, so that "reloads" meets `reload` and "windows" meets `window`. */
function stem(word: string): string {
  if (word.length > 5 && word.endsWith("ies")) return `${word.slice(0, -3)}y`;
  if (word.length > 5 && word.endsWith("ing")) return word.slice(0, -3);
  if (word.length > 4 && word.endsWith("ed")) return word.slice(0, -2);
  if (word.length > 4 && word.endsWith("es")) return word.slice(0, -2);
  if (word.length > 3 && word.endsWith("s") && !word.endsWith("ss")) return word.slice(0, -1);
  return word;
}

/** The stems of the words of a line (identifiers split), each once. */
function lineStems(line: string): Set<string> {
  const stems = new Set<string>();
  for (const match of line.matchAll(/[A-Za-z_$][\w$]*/g))
    for (const word of splitWords(match[0])) if (word.length >= 3) stems.add(stem(word));
  return stems;
}

/**
 * Every place the task points at, best first: declarations it names (100), lines that use a name it
 * gives (40), declarations whose name shares its words (10 and up), files that import a declaration
 * (the repository map's links: 2), and lines dense in its words (below 10, by how rare each word is
 * in the file: one on more than {@link COMMON_WORD_SHARE} of its lines locates nothing).
 */
function rankSeeds(
  lines: readonly string[],
  outline: readonly OutlineEntry[],
  terms: { names: Set<string>; words: Set<string> },
  linked: ReadonlySet<string>,
): Seed[] {
  const seeds: Seed[] = [];
  const taskStems = new Set([...terms.words].map(stem));
  const stemsOf = lines.map(lineStems);
  const lineCount = new Map<string, number>();
  for (const stems of stemsOf)
    for (const s of stems) if (taskStems.has(s)) lineCount.set(s, (lineCount.get(s) ?? 0) + 1);
  const weight = (s: string): number => {
    const df = lineCount.get(s) ?? lines.length;
    return df > Math.max(3, lines.length * COMMON_WORD_SHARE) ? 0 : Math.log(lines.length / df);
  };
  const declarationSpan = (entry: OutlineEntry): Pick<Seed, "focus" | "start" | "end"> => ({
    focus: entry.start,
    start: entry.start - MARGIN,
    end: Math.min(entry.end, entry.start + MAX_SEED_LINES - 1) + MARGIN,
  });
  for (const entry of outline) {
    const nameStems = [...new Set(splitWords(entry.name).map(stem))].filter((w) => taskStems.has(w));
    if (terms.names.has(entry.name))
      seeds.push({ ...declarationSpan(entry), score: 100, reason: `the task names ${entry.name}` });
    else if (nameStems.length > 0)
      seeds.push({
        ...declarationSpan(entry),
        score: 10 + nameStems.reduce((sum, w) => sum + weight(w), 0),
        reason: `${entry.name} matches the task's words (${nameStems.join(", ")})`,
      });
    else if (linked.has(entry.name))
      seeds.push({
        ...declarationSpan(entry),
        score: 2,
        reason: `${entry.name} is imported by files the task touches (repository map)`,
      });
  }
  // Lines that use a name the task gives: only names that look like code (camelCase, snake_case, a
  // digit) or that the file declares, so that "return" or "Make" in the objective select nothing.
  const declared = new Set(outline.map((e) => e.name));
  const codeNames = new Set([...terms.names].filter((n) => declared.has(n) || /[a-z][A-Z]|_|\d|\$/.test(n)));
  const lineScore = stemsOf.map((stems) => [...stems].reduce((sum, s) => sum + (taskStems.has(s) ? weight(s) : 0), 0));
  // A reduce, not Math.max(...): a file of 200,000 lines would overflow the call's arguments.
  const best = lineScore.reduce((m, v) => Math.max(m, v), 1e-9);
  lines.forEach((line, i) => {
    const at = { focus: i + 1, start: i + 1 - MARGIN, end: i + 1 + MARGIN };
    const named = [...line.matchAll(/[A-Za-z_$][\w$]{2,}/g)].map((m) => m[0]).find((w) => codeNames.has(w));
    if (named) seeds.push({ ...at, score: 40, reason: `uses ${named}` });
    else if ((lineScore[i] as number) > 0)
      seeds.push({ ...at, score: (9 * (lineScore[i] as number)) / best, reason: "the task's words" });
  });
  return seeds.sort((a, b) => b.score - a.score || a.focus - b.focus);
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

/** The last line of the file's head: its imports and header, up to the first declaration (0: none). */
function headEnd(lines: readonly string[], outline: readonly OutlineEntry[]): number {
  const first = outline[0]?.start ?? lines.length + 1;
  let end = Math.min(first - 1, MAX_HEAD_LINES);
  while (end > 0 && (lines[end - 1] ?? "").trim() === "") end--;
  return end;
}

/**
 * Chooses the regions of `content` to show within `budgetBytes`, and fills the budget: the file's
 * head (its imports: an edit often needs one more), then every place the task points at, best first
 * ({@link rankSeeds}: each with its declaration or {@link MARGIN} lines around it), then the
 * neighbours of what was chosen, a line at a time on each side of each region (best region first),
 * until the budget is spent. With nothing named, the head grows down the file; with a budget that
 * holds the whole file, the whole file.
 */
export function chooseRegions(
  content: string,
  objective: string,
  budgetBytes: number,
  linked: ReadonlySet<string> = new Set(),
): RegionView {
  const lines = content.replace(/\n$/, "").split("\n");
  const outline = outlineLines(lines);
  const cost = lines.map((l) => Buffer.byteLength(l) + 1);
  /** Per line (0-based): the index of the seed that shows it, or -1. */
  const owner: number[] = lines.map(() => -1);
  const chosen: Array<{ seed: Seed; lo: number; hi: number }> = [];
  let left = budgetBytes;
  /** Shows line `n` (1-based) for seed `k` when the budget allows; a line already shown costs nothing. */
  const show = (n: number, k: number): boolean => {
    if (n < 1 || n > lines.length) return false;
    if ((owner[n - 1] as number) >= 0) return true;
    if ((cost[n - 1] as number) > left) return false;
    left -= cost[n - 1] as number;
    owner[n - 1] = k;
    return true;
  };
  /** Grows region `c` by one line below and above (within `limit`): whether it grew. */
  const grow = (c: { lo: number; hi: number }, k: number, limit = { start: 1, end: lines.length }): boolean => {
    let grew = false;
    if (c.hi < limit.end && show(c.hi + 1, k)) {
      c.hi++;
      grew = true;
    }
    if (c.lo > limit.start && show(c.lo - 1, k)) {
      c.lo--;
      grew = true;
    }
    return grew;
  };
  const head = headEnd(lines, outline);
  const seeds: Seed[] = [];
  if (head > 0) seeds.push({ focus: 1, start: 1, end: head, score: 0, reason: "imports and the file's head" });
  seeds.push(...rankSeeds(lines, outline, taskTerms(objective), linked));
  if (seeds.length === 0)
    seeds.push({ focus: 1, start: 1, end: 1, score: 0, reason: "start of the file (the task names nothing in it)" });
  for (const [k, seed] of seeds.entries()) {
    if ((owner[seed.focus - 1] as number) >= 0 && seed.score > 0) continue;
    // The head takes at most its share, so that a long header does not crowd out what the task names.
    const reserve = k === 0 && head > 0 ? budgetBytes - Math.floor(budgetBytes * MAX_HEAD_SHARE) : 0;
    left -= reserve;
    const region = { seed, lo: seed.focus, hi: seed.focus - 1 };
    if (grow(region, k, { start: seed.focus, end: seed.focus })) {
      while (grow(region, k, { start: Math.max(1, seed.start), end: Math.min(lines.length, seed.end) }));
      chosen.push(region);
    }
    left += reserve;
    if (left <= 0) break;
  }
  // The neighbours, a line a side per round, the best-scored region first; the head grows (down the
  // file) only when what the task names can grow no more.
  for (const tier of [chosen.filter((c) => c.seed.score > 0), chosen.filter((c) => c.seed.score === 0)]) {
    const order = tier.sort((a, b) => b.seed.score - a.seed.score);
    for (let grew = true; grew && left > 0;) {
      grew = false;
      for (const region of order) grew = grow(region, seeds.indexOf(region.seed)) || grew;
    }
  }
  const regions = regionsOf(owner, seeds);
  return { regions, content: renderRegions(lines, outline, regions), lines: lines.length };
}

/** Runs of shown lines as regions, each with the reasons of the seeds that show it (the best few). */
function regionsOf(owner: readonly number[], seeds: readonly Seed[]): FileRegion[] {
  const regions: FileRegion[] = [];
  let current: { start: number; end: number; owners: Set<number> } | undefined;
  const close = (): void => {
    if (!current) return;
    const reasons = [...new Set([...current.owners].sort((a, b) => a - b).map((k) => (seeds[k] as Seed).reason))];
    const more = reasons.length > MAX_REASONS ? `; and ${reasons.length - MAX_REASONS} more` : "";
    regions.push({ start: current.start, end: current.end, reason: reasons.slice(0, MAX_REASONS).join("; ") + more });
    current = undefined;
  };
  owner.forEach((k, i) => {
    if (k < 0) return close();
    if (current && current.end === i) {
      current.end = i + 1;
      current.owners.add(k);
    } else {
      close();
      current = { start: i + 1, end: i + 1, owners: new Set([k]) };
    }
  });
  close();
  return regions;
}

/** The outline, then each region in its own fence, headed by its line numbers and why it is shown. */
function renderRegions(
  lines: readonly string[],
  outline: readonly OutlineEntry[],
  regions: readonly FileRegion[],
): string {
  const fence = "`".repeat(
    lines.reduce((m, l) => (l.match(/`+/g) ?? []).reduce((n, r) => Math.max(n, r.length + 1), m), 3),
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
