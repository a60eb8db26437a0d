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
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  const changes: FileChange[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new GenerationError(
      `The model's answer is not in the edit format (line ${i + 1}: ${why}); nothing was produced.`,
      { line: i + 1, answer_start: text.slice(0, 200) },
    );
  };
  const at = (): string => lines[i] ?? "";
  const skipBlank = (): void => {
    while (i < lines.length && at().trim() === "") i++;
  };
  for (;;) {
    skipBlank();
    if (i >= lines.length) break;
    if (at().trim() === MARKERS.explanation) break;
    const file = at().trim();
    if (file.startsWith("<<<<<<<") || file.startsWith(MARKERS.fence)) fail("expected a file path before the block");
    i++;
    if (at().trim().startsWith(MARKERS.fence)) i++;
    else fail(`expected ${MARKERS.fence} after the path ${file}`);
    const change: FileChange = { path: file, action: "edit", edits: [] };
    for (;;) {
      const line = at().trim();
      if (i >= lines.length) fail(`unterminated block for ${file}`);
      if (line === MARKERS.fence) {
        i++;
        break;
      }
      if (line === MARKERS.delete) {
        change.action = "delete";
        delete change.edits;
        i++;
        continue;
      }
      if (line !== MARKERS.search) fail(`expected ${MARKERS.search}, ${MARKERS.delete} or ${MARKERS.fence}`);
      i++;
      const search = readUntil(MARKERS.divider);
      const replace = readUntil(MARKERS.replace);
      if (search === "") {
        change.action = "create";
        change.content = replace;
        delete change.edits;
      } else change.edits?.push({ search, replace });
    }
    changes.push(change);
  }
  const explanation =
    at().trim() === MARKERS.explanation
      ? lines
          .slice(i + 1)
          .join("\n")
          .trim()
      : "";
  if (changes.length === 0) fail("no file change in the answer");
  return { changes, explanation };

  function readUntil(marker: string): string {
    const body: string[] = [];
    while (i < lines.length && lines[i] !== marker && lines[i]?.trimEnd() !== marker) body.push(lines[i++] as string);
    if (i >= lines.length) fail(`missing ${marker}`);
    i++;
    return body.length === 0 ? "" : body.join("\n") + "\n";
  }
}
