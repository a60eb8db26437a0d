import { describe, expect, it } from "vitest";
import { WorkspaceEscapeError } from "../errors/errors.js";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { isTestFile } from "../workspace/test-placement.js";
import { detectTestConvention, editsForAnswer, resolveWorkspacePath, testPathFor } from "./proposed-files.js";

describe("resolveWorkspacePath", () => {
  const ws = "/work/space";

  it("maps relative and inside-absolute paths to workspace-relative POSIX paths", () => {
    expect(resolveWorkspacePath(ws, "src/a.ts")).toBe("src/a.ts");
    expect(resolveWorkspacePath(ws, "./src/../src/a.ts")).toBe("src/a.ts");
    expect(resolveWorkspacePath(ws, "/work/space/src/a.ts")).toBe("src/a.ts");
    expect(resolveWorkspacePath(ws, "src\\b.ts")).toBe("src/b.ts");
  });

  it("refuses paths outside the workspace, the root itself, empty paths and NUL bytes", () => {
    for (const bad of ["../a.ts", "src/../../a.ts", "/etc/passwd", "/work/spaceship/a.ts", "", ".", "a\0.ts"]) {
      expect(() => resolveWorkspacePath(ws, bad), bad).toThrow(WorkspaceEscapeError);
    }
  });
});

describe("test file placement", () => {
  it("puts tests next to the code by default, and follows __tests__ and .spec conventions", () => {
    const plain = tempDir();
    writeFiles(plain, { "src/a.ts": "" });
    expect(testPathFor("src/b.ts", detectTestConvention(plain, "src/b.ts"))).toBe("src/b.test.ts");

    const jesty = tempDir();
    writeFiles(jesty, { "src/__tests__/a.spec.ts": "", "lib/__tests__/c.spec.ts": "", "node_modules/x/y.test.ts": "" });
    expect(testPathFor("src/b.ts", detectTestConvention(jesty, "src/b.ts"))).toBe("src/__tests__/b.spec.ts");
    expect(testPathFor("index.tsx", detectTestConvention(jesty, "index.tsx"))).toBe("__tests__/index.spec.tsx");

    // the code file's own folder wins over the workspace's majority
    const mixed = tempDir();
    writeFiles(mixed, { "a/__tests__/1.test.ts": "", "a/__tests__/2.test.ts": "", "b/x.test.ts": "" });
    expect(testPathFor("b/y.ts", detectTestConvention(mixed, "b/y.ts"))).toBe("b/y.test.ts");
  });

  it("turns an answer into edits: code at file_path, tests beside it, none when tests are empty", () => {
    const ws = tempDir();
    const answer = { file_path: "src/m.ts", suggested_code: "code", explanation: "", tests: "tests" };
    expect(editsForAnswer(ws, answer)).toEqual({
      edits: [
        { path: "src/m.ts", content: "code" },
        { path: "src/m.test.ts", content: "tests" },
      ],
      codePath: "src/m.ts",
      testPath: "src/m.test.ts",
    });
    expect(editsForAnswer(ws, { ...answer, tests: "  " }).edits).toHaveLength(1);
    expect(() => editsForAnswer(ws, { ...answer, file_path: "../m.ts" })).toThrow(WorkspaceEscapeError);
    expect(isTestFile("src/__tests__/a.ts")).toBe(true);
    expect(isTestFile("src/contest.ts")).toBe(false);
  });
});
