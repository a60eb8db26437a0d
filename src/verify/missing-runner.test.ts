import { describe, expect, it } from "vitest";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { detectTestRunner, missingRunnerMessage } from "./tests.js";

describe("no test runner found", () => {
  it("says a declared but uninstalled jest needs npm install, not that package.json names none", () => {
    const root = tempDir("builder-runner-");
    writeFiles(root, {
      "package.json": JSON.stringify({ devDependencies: { jest: "^29.7.0" }, scripts: { test: "jest" } }),
    });
    expect(detectTestRunner(root, undefined, "test('x', () => {});")).toBeUndefined();
    const message = missingRunnerMessage(root);
    expect(message).toContain("package.json declares jest, but it is not installed");
    expect(message).toContain("npm install");
    expect(message).not.toContain("names no vitest");
  });

  it("keeps the plain message when nothing is declared", () => {
    const root = tempDir("builder-runner-");
    writeFiles(root, { "package.json": JSON.stringify({ name: "x" }) });
    expect(missingRunnerMessage(root)).toContain("names no vitest, jest or `node --test`");
  });
});
