/**
 * A small unified diff (git-compatible headers, `git apply` accepts it): Myers' algorithm on lines,
 * with common prefix and suffix trimmed first, and a plain "replace the middle" fallback when the
 * files differ too much for a minimal diff to be worth its memory.
 */

/** One side of a diff: its path (workspace-relative) and bytes, or null when the file is absent. */
export interface DiffSide {
  path: string;
  content: Uint8Array | null;
  mode?: number;
}

/** One line of an edit script: kept (" "), removed ("-") or added ("+"). */
export type Op = { kind: " " | "-" | "+"; line: string };

/** Beyond this many differences the middle is shown as removed-then-added instead of a minimal diff. */
const MAX_EDIT_DISTANCE = 2000;
const CONTEXT_LINES = 3;

/** The unified diff from `before` to `after` (same path, or creation / deletion); "" when identical. */
export function unifiedDiff(before: DiffSide, after: DiffSide, context = CONTEXT_LINES): string {
  const oldBytes = before.content;
  const newBytes = after.content;
  if (oldBytes && newBytes && Buffer.from(oldBytes).equals(Buffer.from(newBytes)) && before.mode === after.mode)
    return "";
  const name = after.path;
  const header = [`diff --git a/${before.path} b/${name}`];
  if (!oldBytes) header.push(`new file mode ${gitMode(after.mode)}`);
  else if (!newBytes) header.push(`deleted file mode ${gitMode(before.mode)}`);
  else if (before.mode !== undefined && after.mode !== undefined && gitMode(before.mode) !== gitMode(after.mode)) {
    header.push(`old mode ${gitMode(before.mode)}`, `new mode ${gitMode(after.mode)}`);
  }
  if (isBinary(oldBytes) || isBinary(newBytes))
    return [
      ...header,
      `Binary files ${oldBytes ? `a/${before.path}` : "/dev/null"} and ${newBytes ? `b/${name}` : "/dev/null"} differ`,
      "",
    ].join("\n");
  const a = splitLines(oldBytes);
  const b = splitLines(newBytes);
  if (a.length === 0 && b.length === 0) return [...header, ""].join("\n");
  header.push(`--- ${oldBytes ? `a/${before.path}` : "/dev/null"}`, `+++ ${newBytes ? `b/${name}` : "/dev/null"}`);
  const hunks = formatHunks(diffLines(a, b), context);
  return [...header, ...hunks, ""].join("\n");
}

/** Lines with their terminators kept, so that "x" and "x\n" differ as they should. */
function splitLines(content: Uint8Array | null): string[] {
  if (!content || content.length === 0) return [];
  const text = Buffer.from(content).toString("utf8");
  // indexOf, not split(/(?<=\n)/): the look-behind took most of a 200,000-line diff's time.
  const lines: string[] = [];
  let from = 0;
  while (from < text.length) {
    const end = text.indexOf("\n", from);
    const next = end === -1 ? text.length : end + 1;
    lines.push(text.slice(from, next));
    from = next;
  }
  return lines;
}

function isBinary(content: Uint8Array | null): boolean {
  return content !== null && content.subarray(0, 8000).includes(0);
}

function gitMode(mode: number | undefined): string {
  return (mode ?? 0o644) & 0o111 ? "100755" : "100644";
}

/** The edit script from `a` to `b`. */
export function diffLines(a: readonly string[], b: readonly string[]): Op[] {
  return lineEditScript(a, b).ops;
}

/**
 * The edit script from `a` to `b`, and whether it is minimal (`exact`): false when the middle differs
 * by more than {@link MAX_EDIT_DISTANCE} lines and is shown as removed-then-added instead.
 */
export function lineEditScript(a: readonly string[], b: readonly string[]): { ops: Op[]; exact: boolean } {
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start += 1;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA -= 1;
    endB -= 1;
  }
  // Loops, not push(...array): a spread of 100,000 lines overflows the call stack.
  const ops: Op[] = [];
  for (let i = 0; i < start; i += 1) ops.push({ kind: " ", line: a[i] as string });
  const middle = myers(a.slice(start, endA), b.slice(start, endB));
  if (middle) {
    for (const op of middle) ops.push(op);
  } else {
    for (let i = start; i < endA; i += 1) ops.push({ kind: "-", line: a[i] as string });
    for (let i = start; i < endB; i += 1) ops.push({ kind: "+", line: b[i] as string });
  }
  for (let i = endA; i < a.length; i += 1) ops.push({ kind: " ", line: a[i] as string });
  return { ops, exact: middle !== undefined };
}

/** Myers' O((N+M)D) shortest edit script; undefined when D exceeds {@link MAX_EDIT_DISTANCE}. */
function myers(a: readonly string[], b: readonly string[]): Op[] | undefined {
  const n = a.length;
  const m = b.length;
  const max = Math.min(n + m, MAX_EDIT_DISTANCE);
  const offset = max + 1;
  const v = new Int32Array(2 * max + 3);
  const trace: Int32Array[] = [];
  for (let d = 0; d <= max; d += 1) {
    trace.push(v.slice(offset - d - 1, offset + d + 2));
    for (let k = -d; k <= d; k += 2) {
      let x =
        k === -d || (k !== d && (v[offset + k - 1] as number) < (v[offset + k + 1] as number))
          ? (v[offset + k + 1] as number)
          : (v[offset + k - 1] as number) + 1;
      let y = x - k;
      while (x < n && y < m && a[x] === b[y]) {
        x += 1;
        y += 1;
      }
      v[offset + k] = x;
      if (x >= n && y >= m) return backtrack(trace, a, b, d);
    }
  }
  return undefined;
}

function backtrack(trace: readonly Int32Array[], a: readonly string[], b: readonly string[], distance: number): Op[] {
  const ops: Op[] = [];
  let x = a.length;
  let y = b.length;
  for (let d = distance; d > 0; d -= 1) {
    const saved = trace[d] as Int32Array;
    // saved[i] holds v[k] for k = i - d - 1, as it was before round d.
    const at = (k: number): number => saved[k + d + 1] as number;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      ops.push({ kind: " ", line: a[x - 1] as string });
      x -= 1;
      y -= 1;
    }
    if (x === prevX) ops.push({ kind: "+", line: b[prevY] as string });
    else ops.push({ kind: "-", line: a[prevX] as string });
    x = prevX;
    y = prevY;
  }
  while (x > 0 && y > 0) {
    ops.push({ kind: " ", line: a[x - 1] as string });
    x -= 1;
    y -= 1;
  }
  return ops.reverse();
}

/** Groups an edit script into `@@` hunks with `context` unchanged lines around each change. */
function formatHunks(ops: readonly Op[], context: number): string[] {
  const out: string[] = [];
  const changes = ops.map((op, i) => (op.kind === " " ? -1 : i)).filter((i) => i >= 0);
  let index = 0;
  // Line numbers are carried forward from hunk to hunk: recounting from the top made many hunks quadratic.
  let counted = 0;
  let oldLine = 1;
  let newLine = 1;
  while (index < changes.length) {
    const first = changes[index] as number;
    let last = first;
    while (index + 1 < changes.length && (changes[index + 1] as number) - last <= 2 * context + 1) {
      index += 1;
      last = changes[index] as number;
    }
    index += 1;
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length, last + context + 1);
    for (; counted < from; counted += 1) {
      if ((ops[counted] as Op).kind !== "+") oldLine += 1;
      if ((ops[counted] as Op).kind !== "-") newLine += 1;
    }
    let oldCount = 0;
    let newCount = 0;
    for (let i = from; i < to; i += 1) {
      if ((ops[i] as Op).kind !== "+") oldCount += 1;
      if ((ops[i] as Op).kind !== "-") newCount += 1;
    }
    out.push(`@@ -${range(oldLine, oldCount)} +${range(newLine, newCount)} @@`);
    for (let i = from; i < to; i += 1) {
      const op = ops[i] as Op;
      out.push(op.kind + op.line.replace(/\n$/, ""));
      if (!op.line.endsWith("\n")) out.push("\\ No newline at end of file");
    }
  }
  return out;
}

/** "start,count" as unified diffs write it: an empty range starts one line earlier. */
function range(start: number, count: number): string {
  if (count === 0) return `${start - 1},0`;
  return count === 1 ? `${start}` : `${start},${count}`;
}
