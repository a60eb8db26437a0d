import { describe, expect, it } from "vitest";
import { countChangedLines } from "./line-diff.js";

describe("countChangedLines", () => {
  const base = ["a", "b", "c", "d", "e"].join("\n") + "\n";

  it("counts nothing for identical content and every line of a new file", () => {
    expect(countChangedLines(base, base).changed).toBe(0);
    expect(countChangedLines("", base)).toEqual({ changed: 5, added: 5, removed: 0, exact: true });
  });

  it("counts a replaced line once, and added or removed lines each", () => {
    expect(countChangedLines(base, base.replace("c", "C")).changed).toBe(1);
    expect(countChangedLines(base, base.replace("c\n", "c\nx\ny\n"))).toEqual({
      changed: 2,
      added: 2,
      removed: 0,
      exact: true,
    });
    expect(countChangedLines(base, base.replace("b\nc\n", ""))).toEqual({
      changed: 2,
      added: 0,
      removed: 2,
      exact: true,
    });
    // two separate edits in different places
    expect(countChangedLines(base, "A\nb\nc\nd\nE\n").changed).toBe(2);
    // CRLF line endings are the same lines
    expect(countChangedLines(base, base.replace(/\n/g, "\r\n")).changed).toBe(0);
  });
});

describe("countChangedLines on 200,000-line files", () => {
  it("counts a whole-file rewrite and a single change without overflowing the stack", () => {
    const base = Array.from({ length: 200_000 }, (_, i) => `line ${i}`).join("\n") + "\n";
    const rewrite = Array.from({ length: 200_000 }, (_, i) => `other ${i}`).join("\n") + "\n";
    expect(countChangedLines(base, rewrite)).toMatchObject({ changed: 200_000, added: 200_000, removed: 200_000 });
    expect(countChangedLines(base, base.replace("line 150000\n", "changed\n"))).toEqual({
      changed: 1,
      added: 1,
      removed: 1,
      exact: true,
    });
  });
});
