import { lineEditScript } from "../workspace/diff.js";

/** How many lines a change touches. */
export interface ChangedLines {
  /** Lines touched: in each run of changes, a replaced line counts once, an added or removed line once. */
  changed: number;
  added: number;
  removed: number;
  /** False when the files differ too much for the exact diff and `changed` is an upper bound. */
  exact: boolean;
}

/**
 * Counts the lines that differ between two versions of a file, on the workspace's line diff (Myers,
 * src/workspace/diff.ts): past its edit distance the middle counts as replaced, an upper bound.
 */
export function countChangedLines(before: string, after: string): ChangedLines {
  const { ops, exact } = lineEditScript(splitLines(before), splitLines(after));
  let changed = 0;
  let added = 0;
  let removed = 0;
  let runAdded = 0;
  let runRemoved = 0;
  for (const op of ops) {
    if (op.kind === " ") {
      changed += Math.max(runAdded, runRemoved);
      runAdded = 0;
      runRemoved = 0;
    } else if (op.kind === "+") {
      runAdded++;
      added++;
    } else {
      runRemoved++;
      removed++;
    }
  }
  changed += Math.max(runAdded, runRemoved);
  return { changed, added, removed, exact };
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
