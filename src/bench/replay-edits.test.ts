import { describe, expect, it } from "vitest";
import { applySearchReplace } from "../answer/search-replace.js";
import { editsForChange } from "./replay-edits.js";

describe("edits for a real change", () => {
  it("reproduces the new file exactly with a few unique SEARCH blocks", () => {
    const before = Array.from({ length: 50 }, (_, i) => (i % 5 === 4 ? "}" : `line ${i}`)).join("\n") + "\n";
    const after = before
      .replace("line 3\n", "line three\n")
      .replace("line 41\n", "line 41\nadded\n")
      .replace("line 20\n", "");
    const edits = editsForChange(before, after);
    expect(edits).toBeDefined();
    expect(edits?.length).toBe(3);
  });

  it("widens a SEARCH with context until it is unique", () => {
    const before = "a\n}\nb\n}\n";
    const after = "a\n}\nb\n};\n";
    expect(editsForChange(before, after)).toEqual([{ search: "b\n}\n", replace: "b\n};\n" }]);
  });

  it("widens toward the lines the model was shown when the file was shown in regions", () => {
    const before = "a\n}\nb\n}\nc\n";
    const after = "a\n}\nb\n};\nc\n";
    // Shown: lines 3 and 4 (0-based), not line 2 ("b"): the unique context must come from below.
    expect(editsForChange(before, after, (line) => line >= 3)).toEqual([{ search: "}\nc\n", replace: "};\nc\n" }]);
    expect(editsForChange(before, after)).toEqual([{ search: "b\n}\n", replace: "b\n};\n" }]);
  });

  it("widens a later SEARCH that the applier would otherwise place on an earlier copy after the previous edit", () => {
    const before = ["alpha", "x1", "x2", "x3", "x4", "}", "y1", "y2", "}", ""].join("\n");
    const after = before.replace("alpha", "ALPHA").replace("y2\n}", "y2\n};");
    const edits = editsForChange(before, after);
    expect(edits).toEqual([
      { search: "alpha\n", replace: "ALPHA\n" },
      { search: "y2\n}\n", replace: "y2\n};\n" },
    ]);
  });

  it("builds edits for a line moved to the top, above another copy of itself", () => {
    const before = ["l0", "a", "l2", "l3", "l4", "l5", "l6", "a", ""].join("\n");
    const after = ["a", "l0", "a", "l2", "l3", "l4", "l5", "l6", ""].join("\n");
    const edits = editsForChange(before, after);
    expect(edits).toBeDefined();
    expect(applySearchReplace(before, edits ?? [])).toMatchObject({ ok: true, content: after });
  });

  it("builds edits for every one of 2,000 seeded changes (insertions, deletions, moves among repeated lines)", () => {
    let seed = 1;
    const next = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
    const common = ["}", "", "a", "return x;", "  }"];
    const unbuildable: string[] = [];
    for (let t = 0; t < 2000; t++) {
      const lines = Array.from({ length: 8 + next(20) }, (_, i) => (next(3) === 0 ? common[next(5)] : `l${i}`));
      const changed = [...lines];
      for (let k = next(3); k >= 0; k--) {
        const at = next(changed.length);
        const kind = next(3);
        if (kind === 0) changed.splice(at, 0, common[next(5)] as string);
        else if (kind === 1) changed.splice(at, 1);
        else changed.splice(next(changed.length), 0, ...changed.splice(at, 1));
      }
      const [before, after] = [lines.join("\n") + "\n", changed.join("\n") + "\n"];
      if (before !== after && !editsForChange(before, after)) unbuildable.push(JSON.stringify({ before, after }));
    }
    expect(unbuildable).toEqual([]);
  });
});
