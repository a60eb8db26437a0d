/** The most cells the exact line diff may use before it falls back to an upper bound. */
const MAX_CELLS = 4_000_000;

/** How many lines a change touches. */
export interface ChangedLines {
  /** Lines touched: in each run of changes, a replaced line counts once, an added or removed line once. */
  changed: number;
  added: number;
  removed: number;
  /** False when the files were too large for the exact diff and `changed` is an upper bound. */
  exact: boolean;
}

/** Counts the lines that differ between two versions of a file (line-based LCS diff). */
export function countChangedLines(before: string, after: string): ChangedLines {
  const a = splitLines(before);
  const b = splitLines(after);
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const x = a.slice(start, endA);
  const y = b.slice(start, endB);
  if (x.length === 0 || y.length === 0)
    return { changed: x.length + y.length, added: y.length, removed: x.length, exact: true };
  if ((x.length + 1) * (y.length + 1) > MAX_CELLS)
    return { changed: Math.max(x.length, y.length), added: y.length, removed: x.length, exact: false };
  return diffMiddle(x, y);
}

function diffMiddle(x: string[], y: string[]): ChangedLines {
  const n = x.length;
  const m = y.length;
  const width = m + 1;
  // lcs[i][j] = LCS length of x[i..] and y[j..]
  const lcs = new Uint32Array((n + 1) * width);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i * width + j] =
        x[i] === y[j]
          ? (lcs[(i + 1) * width + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * width + j] ?? 0, lcs[i * width + j + 1] ?? 0);
    }
  }
  let i = 0;
  let j = 0;
  let changed = 0;
  let added = 0;
  let removed = 0;
  let runAdded = 0;
  let runRemoved = 0;
  const closeRun = (): void => {
    changed += Math.max(runAdded, runRemoved);
    runAdded = 0;
    runRemoved = 0;
  };
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      closeRun();
      i++;
      j++;
    } else if (j < m && (i === n || (lcs[i * width + j + 1] ?? 0) >= (lcs[(i + 1) * width + j] ?? 0))) {
      runAdded++;
      added++;
      j++;
    } else {
      runRemoved++;
      removed++;
      i++;
    }
  }
  closeRun();
  return { changed, added, removed, exact: true };
}

function splitLines(text: string): string[] {
  if (text === "") return [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}
