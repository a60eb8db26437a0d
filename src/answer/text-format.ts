import { GenerationError } from "../errors/errors.js";
import type { AnswerChanges, FileChange } from "./changes.js";

/** The markers of the text answer format (Aider's search/replace blocks). */
export const MARKERS = {
  fence: "```",
  search: "<<<<<<< SEARCH",
  divider: "=======",
  replace: ">>>>>>> REPLACE",
  delete: "<<<<<<< DELETE FILE",
  explanation: "## Explanation",
} as const;

/**
 * Renders changes in the text format: each file's path on a line, then a fenced group of blocks
 * (SEARCH/REPLACE edits; an empty SEARCH carries a whole new content; DELETE FILE), then the
 * explanation. {@link parseTextAnswer} reads it back.
 */
export function renderTextAnswer(answer: AnswerChanges): string {
  const out: string[] = [];
  for (const change of answer.changes) {
    out.push(change.path, MARKERS.fence);
    if (change.action === "delete") out.push(MARKERS.delete);
    else if (change.edits && change.edits.length > 0 && change.action === "edit") {
      for (const edit of change.edits)
        out.push(
          MARKERS.search,
          ...bodyLines(edit.search),
          MARKERS.divider,
          ...bodyLines(edit.replace),
          MARKERS.replace,
        );
    } else out.push(MARKERS.search, MARKERS.divider, ...bodyLines(change.content ?? ""), MARKERS.replace);
    out.push(MARKERS.fence);
  }
  out.push(MARKERS.explanation, answer.explanation.trim());
  return out.join("\n") + "\n";
}

function bodyLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split("\n");
  if (text.endsWith("\n")) lines.pop();
  return lines;
}

/**
 * Parses a text-format answer. On grammar backends the text cannot be malformed; elsewhere a
 * malformed answer fails with GENERATION_FAILED naming the line.
 */
export function parseTextAnswer(text: string): AnswerChanges {
  const reader = new AnswerReader(text);
  const changes: FileChange[] = [];
  for (;;) {
    reader.skipBlank();
    if (reader.done() || reader.line() === MARKERS.explanation) break;
    changes.push(readFileChange(reader));
  }
  const explanation = reader.line() === MARKERS.explanation ? reader.rest().trim() : "";
  // An explanation alone is an answer (a task that names no file allows no change); resolveChanges judges it.
  if (changes.length === 0 && reader.line() !== MARKERS.explanation) reader.fail("no file change in the answer");
  return { changes, explanation };
}

/** One file's path, its fence, and its blocks up to the closing fence. */
function readFileChange(reader: AnswerReader): FileChange {
  const file = reader.line();
  if (file.startsWith("<<<<<<<") || file.startsWith(MARKERS.fence))
    reader.fail("expected a file path before the block");
  reader.next();
  if (reader.line().startsWith(MARKERS.fence)) reader.next();
  else reader.fail(`expected ${MARKERS.fence} after the path ${file}`);
  const change: FileChange = { path: file, action: "edit", edits: [] };
  for (;;) {
    const line = reader.line();
    if (reader.done()) reader.fail(`unterminated block for ${file}`);
    if (line !== MARKERS.fence && line !== MARKERS.delete && line !== MARKERS.search)
      reader.fail(`expected ${MARKERS.search}, ${MARKERS.delete} or ${MARKERS.fence}`);
    reader.next();
    if (line === MARKERS.fence) return change;
    if (line === MARKERS.delete) {
      change.action = "delete";
      delete change.edits;
      continue;
    }
    const search = reader.readUntil(MARKERS.divider);
    const replace = reader.readUntil(MARKERS.replace);
    if (search === "") {
      change.action = "create";
      change.content = replace;
      delete change.edits;
    } else change.edits?.push({ search, replace });
  }
}

/** A cursor over the answer's lines; its failures name the line it stands on. */
class AnswerReader {
  private readonly lines: string[];
  private i = 0;

  constructor(private readonly text: string) {
    this.lines = text.replace(/\r\n/g, "\n").split("\n");
  }

  /** The current line, trimmed ("" past the end). */
  line(): string {
    return (this.lines[this.i] ?? "").trim();
  }

  done(): boolean {
    return this.i >= this.lines.length;
  }

  next(): void {
    this.i++;
  }

  skipBlank(): void {
    while (!this.done() && this.line() === "") this.i++;
  }

  /** Everything after the current line. */
  rest(): string {
    return this.lines.slice(this.i + 1).join("\n");
  }

  /** The body lines up to `marker` (consumed), as text with a final newline; "" when there are none. */
  readUntil(marker: string): string {
    const body: string[] = [];
    while (!this.done() && this.lines[this.i] !== marker && this.lines[this.i]?.trimEnd() !== marker)
      body.push(this.lines[this.i++] as string);
    if (this.done()) this.fail(`missing ${marker}`);
    this.i++;
    return body.length === 0 ? "" : body.join("\n") + "\n";
  }

  fail(why: string): never {
    throw new GenerationError(
      `The model's answer is not in the edit format (line ${this.i + 1}: ${why}); nothing was produced.`,
      { line: this.i + 1, answer_start: this.text.slice(0, 200) },
    );
  }
}
