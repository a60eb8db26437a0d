import { describe, expect, it } from "vitest";
import { applySearchReplace } from "./search-replace.js";
import { allowedFilesFor, resolveChanges, type AllowedFiles } from "./resolve-changes.js";
import { EDIT_QUOTES_UNSHOWN_LINES, formatLines } from "./shown-lines.js";

/** A 60-line file, `line 1` … `line 60`, shown to the model in two regions. */
const FILE = Array.from({ length: 60 }, (_, i) => `line ${i + 1}`).join("\n") + "\n";
const SHOWN = [
  { start: 1, end: 5 },
  { start: 30, end: 40 },
];

function allowedInRegions(): AllowedFiles {
  return {
    ...allowedFilesFor([{ path: "src/big.ts", status: "present", content: FILE }]),
    shown: new Map([["src/big.ts", SHOWN]]),
  };
}

describe("an answer in JSON against a file shown in regions (the post-check the text format's grammar makes needless)", () => {
  it("applies an edit that quotes only shown lines", () => {
    const out = resolveChanges(
      {
        changes: [{ path: "src/big.ts", action: "edit", edits: [{ search: "line 31\nline 32\n", replace: "x\n" }] }],
        explanation: "",
      },
      allowedInRegions(),
    );
    expect(out.ok && out.changes[0]?.after).toBe(FILE.replace("line 31\nline 32\n", "x\n"));
  });

  it("refuses an edit that quotes a line the model was not shown, naming the file, the lines and what was shown", () => {
    const out = resolveChanges(
      {
        changes: [
          {
            path: "src/big.ts",
            action: "edit",
            edits: [
              { search: "line 2\n", replace: "two\n" },
              { search: "line 40\nline 41\nline 42\n", replace: "forty\n" },
            ],
          },
        ],
        explanation: "",
      },
      allowedInRegions(),
    );
    expect(out.ok).toBe(false);
    const problems = out.ok ? [] : out.problems;
    expect(problems).toEqual([
      `src/big.ts: edit 2: ${EDIT_QUOTES_UNSHOWN_LINES}: its SEARCH quotes line(s) 41-42 of the file, which were not shown to you (the file is too large for the window; you were shown its outline and lines 1-5, 30-40). Quote only lines from the regions shown, exactly as shown; lines outside them cannot be edited.`,
    ]);
  });

  it("refuses writing the whole file, which the model saw only in part", () => {
    const out = resolveChanges(
      { changes: [{ path: "src/big.ts", action: "edit", content: "everything\n" }], explanation: "" },
      allowedInRegions(),
    );
    expect(!out.ok && out.problems[0]).toMatch(
      /^src\/big\.ts: EDIT_QUOTES_UNSHOWN_LINES: the change replaces the whole file, but you were shown only its outline and lines 1-5, 30-40/,
    );
  });

  it("counts lines an earlier edit of the change wrote as seen, and the same edits pass where the whole file was shown", () => {
    const edits = [
      { search: "line 3\n", replace: "new A\nnew B\n" },
      { search: "new B\nline 4\n", replace: "merged\n" },
    ];
    expect(applySearchReplace(FILE, edits, { shown: SHOWN }).ok).toBe(true);
    const outside = [{ search: "line 50\n", replace: "fifty\n" }];
    expect(applySearchReplace(FILE, outside).ok).toBe(true);
    const refused = applySearchReplace(FILE, outside, { shown: SHOWN });
    expect(!refused.ok && refused.mismatches[0]?.reason).toBe(EDIT_QUOTES_UNSHOWN_LINES);
  });

  it("points a SEARCH that matches nothing at the nearest lines shown, never at lines the model did not see", () => {
    const out = applySearchReplace(FILE, [{ search: "line 50 \nline 5x\n", replace: "y\n" }], { shown: SHOWN });
    const message = out.ok ? "" : (out.mismatches[0]?.message ?? "");
    expect(message).toMatch(/does not match any run of lines/);
    expect(message).not.toMatch(/\| line 50$/m);
    expect(message).toMatch(/\| line (5|3\d|40)$/m);
  });

  it("writes line numbers as runs", () => {
    expect(formatLines([9, 3, 4, 5, 12])).toBe("3-5, 9, 12");
  });
});
