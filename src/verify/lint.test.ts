import { describe, expect, it } from "vitest";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { runLint } from "./lint.js";

describe("runLint", () => {
  it("fails clearly when lint is on but ESLint is not installed", async () => {
    const root = tempDir();
    writeFiles(root, { "src/a.ts": "export const a = 1;\n" });
    const result = await runLint({ root, files: ["src/a.ts"], timeoutMs: 10_000 });
    expect(result.status).toBe("failed");
    expect(result.diagnostics[0]).toMatch(
      /ESLint is not installed in the workspace.*verify\.lint_command.*verify\.checks\.lint/,
    );
  });

  it("reads ESLint's JSON format from a configured command: errors fail, warnings are notes", async () => {
    const root = tempDir();
    // A stand-in linter that prints what `eslint --format json` prints, for each file it is given.
    const fakeEslint = `const files = process.argv.slice(2).map((f) => require("node:path").resolve(f));
const results = files.map((filePath) => ({ filePath, messages: [
  { ruleId: "no-var", severity: 2, message: "Unexpected var.", line: 1, column: 1 },
  { ruleId: "prefer-const", severity: 1, message: "Use const.", line: 2, column: 3 },
] }));
process.stdout.write(JSON.stringify(results));
process.exitCode = 1;
`;
    writeFiles(root, { "lint.cjs": fakeEslint, "src/a.ts": "var a = 1;\n" });
    const result = await runLint({ root, files: ["src/a.ts"], command: "node lint.cjs {files}", timeoutMs: 10_000 });
    expect(result.status).toBe("failed");
    expect(result.diagnostics).toEqual(["src/a.ts:1:1 no-var Unexpected var."]);
    expect(result.notes).toEqual(["src/a.ts:2:3 prefer-const Use const."]);
  });

  it("passes or fails a plain command by its exit status", async () => {
    const root = tempDir();
    expect(await runLint({ root, files: ["a.ts"], command: "true", timeoutMs: 10_000 })).toMatchObject({
      status: "passed",
    });
    const failed = await runLint({
      root,
      files: ["a.ts"],
      command: `node -e "console.error('a.ts: bad style'); process.exit(3)"`,
      timeoutMs: 10_000,
    });
    expect(failed).toMatchObject({ status: "failed", diagnostics: ["a.ts: bad style"] });
  });
});
