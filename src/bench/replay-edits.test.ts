import { describe, expect, it } from "vitest";
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
});
