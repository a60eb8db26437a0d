import { describe, expect, it } from "vitest";
import { answerGrammar } from "../answer/answer-grammar.js";
import { chooseRegions, mergeRegions, outlineLines, taskTerms } from "./file-regions.js";

/** A 3,000-line module: 150 functions of 20 lines, `handler0` … `handler149`, and some imports. */
function bigModule(): string {
  const lines = ['import { query } from "./db.js";', 'import type { Row } from "./types.js";', ""];
  for (let f = 0; lines.length < 2997; f++) {
    lines.push(`export function handler${f}(row: Row): number {`);
    for (let k = 0; k < 17; k++) lines.push(`  const v${k} = query("select ${f}_${k}") + ${k};`);
    lines.push("  return v0;", "}");
  }
  return lines.slice(0, 3000).join("\n") + "\n";
}

describe("a file too large for the window, shown in regions", () => {
  it("outlines declarations with their line spans", () => {
    const outline = outlineLines(bigModule().split("\n"));
    expect(outline[0]).toMatchObject({ name: "handler0", kind: "function", start: 4, end: 23 });
    expect(outline.find((e) => e.name === "handler75")).toMatchObject({ start: 4 + 75 * 20, end: 23 + 75 * 20 });
  });

  it("shows the function the objective names, in the middle of a 3,000-line file, with the imports, and the outline", () => {
    const view = chooseRegions(bigModule(), "Make handler75 return v1 instead of v0", 4000);
    expect(view.lines).toBe(3000);
    const named = view.regions.find((r) => r.reason.includes("the task names handler75"));
    expect(named).toBeDefined();
    expect(named!.start).toBeLessThanOrEqual(1504);
    expect(named!.end).toBeGreaterThanOrEqual(1523);
    expect(view.regions.some((r) => r.start === 1 && r.reason.includes("imports"))).toBe(true);
    expect(view.content).toContain("L1504-1523 function handler75");
    expect(view.content).toContain("export function handler75(row: Row): number {");
    expect(view.content).not.toContain("export function handler10(row");
    expect(Buffer.byteLength(view.content)).toBeLessThan(4000 + 150 * 60);
  });

  it("fills the budget: the named function's region grows into its neighbours until the budget is spent", () => {
    const content = bigModule();
    const lines = content.split("\n");
    const budget = 20_000;
    const view = chooseRegions(content, "Make handler75 return v1 instead of v0", budget);
    const shown = view.regions.reduce(
      (sum, r) => sum + lines.slice(r.start - 1, r.end).reduce((s, l) => s + Buffer.byteLength(l) + 1, 0),
      0,
    );
    const longest = Math.max(...lines.map((l) => Buffer.byteLength(l) + 1));
    expect(shown).toBeLessThanOrEqual(budget);
    expect(shown).toBeGreaterThan(budget - 2 * longest);
    // The imports, and one region around handler75 (common words such as "return" locate nothing).
    expect(view.regions).toHaveLength(2);
    expect(view.regions[0]).toMatchObject({ start: 1, reason: "imports and the file's head" });
    expect(view.regions[0]!.end).toBeLessThanOrEqual(3);
    const named = view.regions[1]!;
    expect(named.reason).toBe("the task names handler75");
    expect(named.start).toBeLessThan(1504 - 100);
    expect(named.end).toBeGreaterThan(1523 + 100);
  });

  it("shows the whole file when the budget holds it, and the top of the file when the task names nothing in it", () => {
    const small = bigModule().split("\n").slice(0, 200).join("\n") + "\n";
    expect(chooseRegions(small, "Make handler3 faster", 1_000_000).regions).toEqual([
      { start: 1, end: 200, reason: expect.stringContaining("imports and the file's head") },
    ]);
    const view = chooseRegions(bigModule(), "Improve the wording of the docs", 6000);
    expect(view.regions).toHaveLength(1);
    expect(view.regions[0]).toMatchObject({ start: 1, reason: "imports and the file's head" });
    expect(view.regions[0]!.end).toBeGreaterThan(100);
  });

  it("finds the lines the task's rarer words name, and the declarations files that import this one use", () => {
    const lines = bigModule().split("\n");
    lines[2101] = "  // Retry the flaky upstream once before giving up.";
    const content = lines.join("\n");
    const byWords = chooseRegions(content, "Retry flaky upstream calls", 3000);
    expect(byWords.regions.find((r) => r.reason === "the task's words")).toMatchObject({
      start: expect.any(Number) as number,
    });
    expect(byWords.regions.some((r) => r.start <= 2102 && r.end >= 2102)).toBe(true);
    const byLinks = chooseRegions(content, "Improve the wording of the docs", 3000, new Set(["handler140"]));
    const linked = byLinks.regions.find((r) => r.reason.includes("handler140 is imported by files the task touches"));
    expect(linked?.start).toBeLessThanOrEqual(4 + 140 * 20);
  });

  it("splits identifiers into words and merges touching regions", () => {
    expect([...taskTerms("Fix parseUserName in user_store").words]).toEqual(
      expect.arrayContaining(["parse", "user", "name", "store"]),
    );
    expect(
      mergeRegions([
        { start: 10, end: 20, reason: "a" },
        { start: 21, end: 30, reason: "b" },
        { start: 1, end: 3, reason: "c" },
      ]),
    ).toEqual([
      { start: 1, end: 3, reason: "c" },
      { start: 10, end: 30, reason: "a; b" },
    ]);
  });

  it("lets SEARCH quote only the lines shown: the grammar has no rule for a line outside the regions", () => {
    const content = bigModule();
    const view = chooseRegions(content, "Make handler75 return v1", 3000);
    const grammar = answerGrammar({
      files: [{ path: "src/big.ts", content, shownLines: view.regions }],
      edits: "search-replace",
    });
    const whole = answerGrammar({ files: [{ path: "src/big.ts", content }], edits: "search-replace" });
    expect(grammar).toContain('"export function handler75(row: Row): number {\\n"');
    expect(grammar).not.toContain("handler10(");
    expect(whole).toContain("handler10(");
    // A run never continues past the end of a region into a line that was not shown.
    const last = view.regions.find((r) => r.reason.includes("handler75"))!.end - 1;
    const rule = grammar.split("\n").find((line) => line.startsWith(`f0l${last} ::= `));
    expect(rule).toBeDefined();
    expect(rule).not.toContain(`f0l${last + 1}`);
    expect(grammar).not.toContain(`f0l${last + 1} ::= `);
  });
});
