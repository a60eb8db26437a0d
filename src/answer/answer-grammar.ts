import { MARKERS } from "./text-format.js";

/** A file the answer may change, as the grammar sees it: its path and current content (null: new). */
export interface GrammarFile {
  path: string;
  content: string | null;
  /**
   * A file the prompt showed in regions (too large for the window): the lines shown, 1-based and
   * inclusive. A SEARCH may quote only these, each run within one region, so that an edit quotes
   * only what the model saw. Absent: the whole file was shown.
   */
  shownLines?: ReadonlyArray<{ start: number; end: number }>;
}

/** Worst-case bounds for models that never stop (`bounded_answer`); absent: unbounded. */
export interface GrammarBounds {
  /** Most lines in one REPLACE (or new-file) body, and in the explanation. */
  bodyLines: number;
  /** Most characters per body line. */
  lineChars: number;
  /** Most edit blocks per file. */
  blocksPerFile: number;
  /** Most file changes in the answer. */
  changes: number;
}

/** Options for {@link answerGrammar}. */
export interface AnswerGrammarOptions {
  files: readonly GrammarFile[];
  /** `whole`: existing files are rewritten whole instead of edited. */
  edits: "search-replace" | "whole";
  bounds?: GrammarBounds;
  /** Folders (workspace-relative, "" the root) where a new file with any name may be created. */
  newFolders?: readonly string[];
}

/**
 * The GBNF grammar of a text answer over the task's files. Paths are the task's files; on an existing
 * file each SEARCH is a contiguous run of its whole lines, so every edit applies by construction. Size
 * stays linear in the file: one rule per line (`line i, then line i+1 or the end of the run`), and the
 * first line of a run is chosen through a radix tree of the distinct line texts, so that a 3,000-line
 * file opens a few dozen grammar stacks at the first token instead of thousands.
 */
export function answerGrammar(options: AnswerGrammarOptions): string {
  const rules: string[] = [];
  const bounds = options.bounds;
  const fileRules = options.files.map((file, index) => fileRule(file, index, options.edits, bounds, rules));
  const folders = options.newFolders ?? [];
  if (folders.length > 0) {
    // A new file under an allowed folder: the folder, then a name without "..", then its whole content.
    const prefixes = folders.map((f) => lit(f === "" ? "" : `${f}/`)).join(" | ");
    rules.push(
      `fnew ::= (${prefixes}) [A-Za-z0-9_-] [A-Za-z0-9._/-]${bounds ? `{0,${bounds.lineChars}}` : "*"} ${lit(`\n${MARKERS.fence}\n${MARKERS.search}\n${MARKERS.divider}\n`)} body ${lit(`${MARKERS.replace}\n${MARKERS.fence}\n`)}`,
    );
    fileRules.push("fnew");
  }
  // Bounded (models that never stop): every task file once, in order, and no deletion, so the worst case is known.
  const changes = bounds ? fileRules.join(" ") : "change+";
  // No file and no folder (a task that names nothing): the answer is the explanation alone.
  const none = fileRules.length === 0;
  rules.unshift(
    `root ::= ${none ? "" : changes} ${lit(`${MARKERS.explanation}\n`)} explanation`,
    ...(none ? [] : [`change ::= ${fileRules.join(" | ")}`]),
    `explanation ::= ${bounds ? `eline{0,${bounds.bodyLines}}` : "eline*"}`,
    `eline ::= ${bounds ? `[\\t -~]{0,${bounds.lineChars}}` : "[^\\n]*"} "\\n"`,
    `body ::= ${bounds ? `bline{0,${bounds.bodyLines}}` : "bline*"}`,
    // A body line may be anything but the closing marker: no line of a body starts with seven '>'.
    `bline ::= ${bodyLineAlternatives(bounds?.lineChars)}`,
  );
  return rules.join("\n") + "\n";
}

function fileRule(
  file: GrammarFile,
  index: number,
  edits: "search-replace" | "whole",
  bounds: GrammarBounds | undefined,
  rules: string[],
): string {
  const name = `f${index}`;
  const head = lit(`${file.path}\n${MARKERS.fence}\n`);
  const tail = lit(`${MARKERS.fence}\n`);
  const whole = `${lit(`${MARKERS.search}\n${MARKERS.divider}\n`)} body ${lit(`${MARKERS.replace}\n`)}`;
  if (file.content === null) {
    rules.push(`${name} ::= ${head} ${whole} ${tail}`);
    return name;
  }
  const remove = bounds ? undefined : lit(`${MARKERS.delete}\n`);
  const or = (a: string): string => (remove ? `(${a} | ${remove})` : `(${a})`);
  const shown = shownPredicate(file);
  if (edits === "whole" || !hasQuotableLine(file.content, bounds !== undefined, shown)) {
    // A file shown in part cannot be rewritten whole: the model never saw the rest of it.
    if (file.shownLines) throw new Error(`no line of ${file.path} shown to the model can be quoted`);
    rules.push(`${name} ::= ${head} ${or(whole)} ${tail}`);
    return name;
  }
  const block = `${name}b`;
  rules.push(`${name} ::= ${head} ${or(bounds ? `${block}{1,${bounds.blocksPerFile}}` : `${block}+`)} ${tail}`);
  rules.push(
    `${block} ::= ${lit(`${MARKERS.search}\n`)} ${name}s ${lit(`${MARKERS.divider}\n`)} body ${lit(`${MARKERS.replace}\n`)}`,
  );
  searchRules(file.content, name, bounds !== undefined, rules, file.shownLines);
  return name;
}

/** Whether line `i` (0-based) was shown to the model: every line, unless the file was shown in regions. */
function shownPredicate(file: GrammarFile): (i: number) => boolean {
  const regions = file.shownLines;
  if (!regions) return () => true;
  return (i) => regions.some((r) => i + 1 >= r.start && i + 1 <= r.end);
}

/** Whether lines `i` and `i + 1` (0-based) are in one shown region. */
function sameRegion(regions: GrammarFile["shownLines"], i: number): boolean {
  if (!regions) return true;
  return regions.some((r) => i + 1 >= r.start && i + 2 <= r.end);
}

/**
 * `<name>s`: a run of whole lines of `content`. Line i is `<name>l<i> ::= "text\n" <name>l<i+1>?`;
 * the run's first line goes through a radix tree of the distinct texts (each leaf continues with the
 * lines that follow any of that text's occurrences). `single`: the run is one line (bounded answers).
 */
function searchRules(
  content: string,
  name: string,
  single: boolean,
  rules: string[],
  regions?: GrammarFile["shownLines"],
): void {
  const lines = content.replace(/\n$/, "").split("\n");
  const shown = shownPredicate({ path: "", content, shownLines: regions });
  // Runs continue only within what was shown: line i+1 follows line i when both are in one region.
  const continues = (i: number): boolean =>
    i + 1 < lines.length && lines[i + 1] !== MARKERS.divider && sameRegion(regions, i);
  const { occurrences, starts } = lineIndex(lines, shown);
  if (!single) {
    lines.forEach((text, i) => {
      if (!shown(i)) return;
      const next = continues(i) ? ` ${name}l${i + 1}?` : "";
      rules.push(`${name}l${i} ::= ${lit(`${text}\n`)}${next}`);
    });
  }
  const leaf = (text: string): string => {
    if (single) return lit("\n");
    const followers = (starts.get(text) ?? []).filter((i) => continues(i)).map((i) => i + 1);
    return followers.length === 0
      ? lit("\n")
      : `${lit("\n")} (${[...new Set(followers)].map((i) => `${name}l${i}`).join(" | ")})?`;
  };
  let counter = 0;
  const build = (texts: readonly string[], depth: number): string => {
    const rule = `${name}t${counter++}`;
    const groups = new Map<string, string[]>();
    const alternatives: string[] = [];
    for (const text of texts) {
      if ([...text].length === depth) alternatives.push(leaf(text));
      else {
        const ch = [...text][depth] as string;
        const group = groups.get(ch) ?? [];
        group.push(text);
        groups.set(ch, group);
      }
    }
    for (const [, group] of groups) {
      // Radix compression: follow the shared prefix of the group as one literal.
      let end = depth + 1;
      const chars = group.map((t) => [...t]);
      while (chars.every((c) => c.length > end && c[end] === (chars[0] as string[])[end])) end++;
      const prefix = (chars[0] as string[]).slice(depth, end).join("");
      alternatives.push(`${lit(prefix)} ${build(group, end)}`);
    }
    rules.push(`${rule} ::= ${alternatives.join(" | ")}`);
    return rule;
  };
  // A run never starts on a blank line; a one-line run (bounded answers) only on a line that occurs once, so it cannot be ambiguous.
  const firsts = [...starts.keys()].filter((t) => t.trim() !== "" && (!single || occurrences.get(t) === 1));
  if (firsts.length === 0) throw new Error("no line to quote");
  const root = build(firsts, 0);
  rules.push(`${name}s ::= ${root}`);
}

/** How often each line text occurs in the file, and where the shown occurrences are (0-based). */
function lineIndex(
  lines: readonly string[],
  shown: (i: number) => boolean,
): { occurrences: Map<string, number>; starts: Map<string, number[]> } {
  const occurrences = new Map<string, number>();
  const starts = new Map<string, number[]>();
  lines.forEach((text, i) => {
    if (text === MARKERS.divider) return;
    occurrences.set(text, (occurrences.get(text) ?? 0) + 1);
    if (!shown(i)) return;
    const list = starts.get(text) ?? [];
    list.push(i);
    starts.set(text, list);
  });
  return { occurrences, starts };
}

/** Whether a SEARCH can quote anything shown: a non-blank line (bounded: one that occurs once in the file). */
function hasQuotableLine(content: string, single: boolean, shown: (i: number) => boolean = () => true): boolean {
  const counts = new Map<string, number>();
  const lines = content.split("\n");
  for (const line of lines)
    if (line.trim() !== "" && line !== MARKERS.divider) counts.set(line, (counts.get(line) ?? 0) + 1);
  return lines.some((line, i) => shown(i) && (counts.get(line) ?? 0) > 0 && (!single || counts.get(line) === 1));
}
/** Bounded bodies are printable ASCII (a token per character at worst); unbounded ones any text. */
function bodyLineAlternatives(lineChars: number | undefined): string {
  const rest = lineChars === undefined ? "[^\\n]*" : `[\\t -~]{0,${lineChars}}`;
  const first = lineChars === undefined ? "[^>\\n]" : "[\\t -=?-~]";
  const alternatives: string[] = [];
  for (let k = 0; k < 7; k++) {
    const arrows = ">".repeat(k);
    alternatives.push(`${k > 0 ? `${lit(arrows)} ` : ""}${first} ${rest} "\\n"`);
    alternatives.push(`${lit(`${arrows}\n`)}`);
  }
  return alternatives.join(" | ");
}

/** A GBNF string literal. */
export function lit(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return out + '"';
}
