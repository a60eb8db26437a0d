import { describe, expect, it } from "vitest";
import { applySearchReplace } from "./search-replace.js";
import { renderTextAnswer, parseTextAnswer } from "./text-format.js";
import { allowedFilesFor, resolveChanges } from "./resolve-changes.js";
import { answerConstraint } from "./answer-plan.js";

const FILE = "export function a(): number {\n  return 1;\n}\n\nexport function b(): number {\n  return 2;\n}\n";

describe("search/replace edits", () => {
  it("replaces an exactly matching run of whole lines and keeps the rest byte for byte", () => {
    const out = applySearchReplace(FILE, [{ search: "  return 2;\n", replace: "  return 3;\n" }]);
    expect(out).toEqual({
      ok: true,
      content: FILE.replace("return 2", "return 3"),
      matches: [{ line: 6, how: "exact" }],
    });
  });

  it("matches with indentation ignored and re-indents the replacement", () => {
    const out = applySearchReplace(FILE, [{ search: "return 1;\n", replace: "const x = 1;\nreturn x;\n" }]);
    expect(out.ok && out.content).toBe(FILE.replace("  return 1;\n", "  const x = 1;\n  return x;\n"));
    expect(out.ok && out.matches[0]?.how).toBe("whitespace");
  });

  it("refuses a SEARCH that matches several places, naming their lines", () => {
    const out = applySearchReplace(FILE, [{ search: "}\n", replace: "};\n" }]);
    expect(out.ok).toBe(false);
    expect(!out.ok && out.mismatches[0]?.message).toMatch(/matches 2 places \(lines 3, 7\)/);
  });

  it("takes the first occurrence after the previous edit of the same file", () => {
    const out = applySearchReplace(FILE, [
      { search: "export function b(): number {\n", replace: "export function b(): string {\n" },
      { search: "}\n", replace: "} // b\n" },
    ]);
    expect(out.ok && out.content).toBe(FILE.replace("b(): number", "b(): string").replace(/}\n$/, "} // b\n"));
  });

  it("refuses a SEARCH that matches nothing and shows the nearest lines with numbers", () => {
    const out = applySearchReplace(FILE, [{ search: "  return 22;\n", replace: "" }]);
    expect(!out.ok && out.mismatches[0]?.reason).toBe("not-found");
    expect(!out.ok && out.mismatches[0]?.message).toMatch(/nearest lines[\s\S]*6\|   return 2;/);
  });
});

describe("the text answer format", () => {
  it("reads back what it renders: edits, a new file, a deletion and the explanation", () => {
    const answer = {
      changes: [
        { path: "src/a.ts", action: "edit" as const, edits: [{ search: "  return 1;\n", replace: "  return 10;\n" }] },
        { path: "src/a.test.ts", action: "create" as const, content: "test\n" },
        { path: "src/old.ts", action: "delete" as const },
      ],
      explanation: "why",
    };
    expect(parseTextAnswer(renderTextAnswer(answer))).toEqual(answer);
  });

  it("fails clearly on text that is not in the format", () => {
    expect(() => parseTextAnswer("<<<<<<< SEARCH\nx\n")).toThrow(/not in the edit format/);
  });

  it("names the line where a malformed answer goes wrong", () => {
    expect(() => parseTextAnswer("src/a.ts\n```\nbogus\n```\n")).toThrow(/line 3: expected <<<<<<< SEARCH/);
    expect(() => parseTextAnswer("src/a.ts\n```\n<<<<<<< SEARCH\nx\n")).toThrow(/line 6: missing =======/);
    expect(() => parseTextAnswer("src/a.ts\nno fence\n")).toThrow(/line 2: expected ``` after the path src\/a\.ts/);
  });
});

describe("resolving changes against the task's files", () => {
  const allowed = allowedFilesFor([
    { path: "src/a.ts", status: "present", content: FILE },
    { path: "src/a.test.ts", status: "new" },
  ]);

  it("computes each file's complete new content", () => {
    const out = resolveChanges(
      {
        changes: [
          { path: "./src/a.ts", action: "edit", edits: [{ search: "  return 1;\n", replace: "  return 5;\n" }] },
          { path: "src/a.test.ts", action: "create", content: "t\n" },
        ],
        explanation: "",
      },
      allowed,
    );
    expect(out.ok && out.changes.map((c) => [c.path, c.action, c.after])).toEqual([
      ["src/a.ts", "edit", FILE.replace("return 1", "return 5")],
      ["src/a.test.ts", "create", "t\n"],
    ]);
  });

  it("refuses a path outside the task's files and folders", () => {
    const out = resolveChanges(
      { changes: [{ path: "../etc/passwd", action: "create", content: "x" }], explanation: "" },
      allowed,
    );
    expect(!out.ok && out.problems[0]).toMatch(/not one of the task's files/);
  });

  it("allows a new file in the folder of a task file", () => {
    const out = resolveChanges(
      { changes: [{ path: "src/helper.ts", action: "create", content: "x\n" }], explanation: "" },
      allowed,
    );
    expect(out.ok).toBe(true);
  });

  it("refuses a new file whose path is the model's garbage, naming it cut to a readable length", () => {
    const garbage = `src/${"pkJ[@p#pj_ApizCvWD?OJT3[P5&_A=9*x".repeat(12)}`;
    const out = resolveChanges(
      { changes: [{ path: garbage, action: "create", content: "x" }], explanation: "" },
      allowed,
    );
    expect(out.ok).toBe(false);
    const problem = !out.ok ? (out.problems[0] ?? "") : "";
    expect(problem).toMatch(/bytes long; new files take paths of at most 240 bytes/);
    expect(problem.length).toBeLessThan(300);
    expect(problem).not.toContain(garbage);
    const odd = resolveChanges(
      { changes: [{ path: "src/a?b&c.ts", action: "create", content: "x" }], explanation: "" },
      allowed,
    );
    expect(!odd.ok && odd.problems[0]).toMatch(/not a plain file name/);
    const next = resolveChanges(
      { changes: [{ path: "src/[id]/page (1).ts", action: "create", content: "x" }], explanation: "" },
      allowedFilesFor([], ["src"]),
    );
    expect(next.ok).toBe(true);
  });
});

describe("a task that names no file", () => {
  const none = allowedFilesFor([], []);

  it("takes an explanation alone as the answer, and refuses any change, a new file at the root included", () => {
    expect(resolveChanges({ changes: [], explanation: "The GPU works." }, none)).toEqual({
      ok: true,
      changes: [],
      notes: [],
    });
    const out = resolveChanges({ changes: [{ path: "x7Qz", action: "create", content: "x" }], explanation: "" }, none);
    expect(!out.ok && out.problems[0]).toMatch(/the task names no file, so the answer may change none/);
  });

  it("reads an explanation-only text answer, and still refuses an empty answer where the task names files", () => {
    expect(parseTextAnswer("## Explanation\nNothing to change.\n")).toEqual({
      changes: [],
      explanation: "Nothing to change.",
    });
    const withFiles = allowedFilesFor([{ path: "src/a.ts", status: "present", content: FILE }]);
    expect(resolveChanges({ changes: [], explanation: "" }, withFiles).ok).toBe(false);
  });

  it("constrains the answer to no change: an empty changes array in JSON, the explanation alone in text", () => {
    const schema = answerConstraint({ format: "json", edits: "search-replace", grammar: false, note: "" }, [], 900)
      .schema as { properties: { changes: { maxItems?: number; minItems?: number } } };
    expect(schema.properties.changes.maxItems).toBe(0);
    expect(schema.properties.changes.minItems).toBeUndefined();
    const grammar = answerConstraint(
      { format: "text", edits: "search-replace", grammar: true, note: "" },
      [],
      900,
    ).grammar;
    expect(grammar?.split("\n")[0]).toBe('root ::=  "## Explanation\\n" explanation');
    expect(grammar).not.toContain("change ::=");
  });
});
