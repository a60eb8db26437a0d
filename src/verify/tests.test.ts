import { describe, expect, it } from "vitest";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { typescriptProject } from "../test-support/ts-project-fixture.js";
import { acceptanceAskingForTests, detectTestRunner, parseTap, runTestFile } from "./tests.js";

describe("detectTestRunner", () => {
  it("prefers a configured command, then the test file's imports, then package.json", () => {
    const vitestProject = typescriptProject({ runner: "vitest" });
    expect(detectTestRunner(vitestProject, "npm test --", "")).toEqual({ kind: "command", command: "npm test --" });
    expect(detectTestRunner(vitestProject, undefined, 'import { test } from "node:test";')).toEqual({
      kind: "node-test",
    });
    expect(detectTestRunner(vitestProject, undefined, "")).toMatchObject({
      kind: "vitest",
      bin: expect.stringMatching(/vitest\.mjs$/),
    });
    expect(detectTestRunner(typescriptProject({ runner: "node-test" }), undefined, "")).toEqual({ kind: "node-test" });
    const bare = tempDir();
    writeFiles(bare, { "package.json": "{}" });
    expect(detectTestRunner(bare, undefined, "")).toBeUndefined();
  });

  it("knows when the acceptance criteria ask for tests", () => {
    expect(acceptanceAskingForTests(["validates input", "vitest tests cover failure"])).toBe(
      "vitest tests cover failure",
    );
    expect(acceptanceAskingForTests(["validates input", "is fast"])).toBeUndefined();
    expect(acceptanceAskingForTests(["contest entries are unique"])).toBeUndefined();
  });
});

describe("runTestFile with a configured command", () => {
  const pass =
    'import { test } from "node:test";\nimport assert from "node:assert/strict";\ntest("ok", () => assert.equal(1, 1));\n';
  const fail =
    'import { test } from "node:test";\nimport assert from "node:assert/strict";\ntest("sums", () => assert.equal(1 + 1, 3));\n';
  const hang = "setInterval(() => {}, 1000);\n";

  it("passes and fails by the command's exit status, and stops a run that exceeds its time limit", async () => {
    const root = tempDir();
    writeFiles(root, { "a.test.mjs": pass, "b.test.mjs": fail, "c.test.mjs": hang });
    const runner = { kind: "command" as const, command: "node --test {file}" };
    const options = { root, runner, timeoutMs: 60_000, workDir: tempDir() };
    expect(await runTestFile({ ...options, testFile: "a.test.mjs" })).toMatchObject({ status: "passed" });
    const failed = await runTestFile({ ...options, testFile: "b.test.mjs" });
    expect(failed.status).toBe("failed");
    expect(failed.diagnostics[0]).toMatch(/^b\.test\.mjs: `node --test \{file\}` exited with 1/);
    const slow = await runTestFile({
      ...options,
      testFile: "c.test.mjs",
      runner: { kind: "command", command: "node" },
      timeoutMs: 1500,
    });
    expect(slow.status).toBe("failed");
    expect(slow.diagnostics).toEqual([
      "c.test.mjs: the tests did not finish within 2 s (verify.timeouts.tests_ms); the run was stopped.",
    ]);
  });
});

describe("parseTap", () => {
  it("keeps failing leaves with their error, not the suites that only repeat them", () => {
    const tap = [
      "# Subtest: suite",
      "    not ok 1 - inner",
      "      ---",
      "      error: 'boom'",
      "      ...",
      "not ok 1 - suite",
      "  ---",
      "  failureType: 'subtestsFailed'",
      "  error: '1 subtest failed'",
      "  ...",
      "# tests 1",
      "# fail 1",
    ].join("\n");
    expect(parseTap(tap, "x.test.ts")).toEqual({
      failures: ["x.test.ts: inner: boom"],
      counts: { total: 1, passed: 0, failed: 1, skipped: 0 },
    });
  });

  it("counts only passed tests as passed: skipped and todo tests are in `# tests` but checked nothing", () => {
    const tap = [
      "ok 1 - a # SKIP",
      "ok 2 - b # TODO",
      "# tests 2",
      "# suites 0",
      "# pass 0",
      "# fail 0",
      "# cancelled 0",
      "# skipped 1",
      "# todo 1",
    ].join("\n");
    expect(parseTap(tap, "x.test.ts").counts).toEqual({ total: 2, passed: 0, failed: 0, skipped: 2 });
  });
});
