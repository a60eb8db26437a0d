import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../telemetry/logger.js";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { BUILTIN_SUITES_DIR, loadSuite, resolveSuiteDir } from "./suite.js";
import { validateCases } from "./validate.js";

describe("the built-in eval suite", () => {
  it("is found by name from the package root and has 10-20 cases, each with hidden tests and a reference change to the task's files", async () => {
    const dir = resolveSuiteDir("builtin");
    expect(dir).toBe(path.join(BUILTIN_SUITES_DIR, "builtin"));
    const cases = await loadSuite(dir);
    expect(cases.length).toBeGreaterThanOrEqual(10);
    expect(cases.length).toBeLessThanOrEqual(20);
    for (const c of cases) {
      expect(c.hidden.length, c.id).toBeGreaterThan(0);
      expect(c.reference?.map((f) => f.path).sort(), c.id).toEqual([...c.task.files].sort());
      // The shared tsconfig makes Builder's own verification run on every case.
      expect(
        c.workspace.kind === "folder" &&
          c.workspace.common !== undefined &&
          existsSync(path.join(c.workspace.common, "tsconfig.json")),
        c.id,
      ).toBe(true);
    }
  });

  it("holds up under --validate: a bug fix and a two-file refactor fail before and pass with their reference", async () => {
    const cases = (await loadSuite(resolveSuiteDir("builtin"))).filter((c) =>
      ["fix-leap-year", "refactor-move-format-price"].includes(c.id),
    );
    const result = await validateCases(cases, {
      checkTimeoutMs: 60_000,
      concurrency: 1,
      logger: createLogger({ level: "silent" }),
      deny: [],
    });
    expect(result.dropped).toEqual([]);
    expect(result.valid.map((c) => c.id)).toEqual(["fix-leap-year", "refactor-move-format-price"]);
  });

  it("refuses a suite case without hidden tests, naming it", async () => {
    const root = tempDir("builder-suite-");
    writeFiles(root, {
      "cases/x/case.json": JSON.stringify({
        task: { task_id: "x", objective: "o", files: ["a.ts"], acceptance: [], constraints: { loc_max: 10, pack: "" } },
        check: "true",
      }),
      "cases/x/workspace/a.ts": "",
    });
    await expect(loadSuite(root)).rejects.toMatchObject({
      code: "TASK_INVALID",
      message: expect.stringMatching(/cases\/x has no hidden\/ tests/),
    });
  });
});
