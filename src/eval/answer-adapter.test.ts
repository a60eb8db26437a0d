import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import type { CodeSuggestion } from "../task/schema.js";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { applyChanges, changesOfSuggestion } from "./answer-adapter.js";

const NEW_INDEX = 'export { add } from "./math.js";\n';

/** An edit answer that rewrites src/index.ts and deletes src/legacy.ts, as `builder run` reports it. */
const SUGGESTION: CodeSuggestion = {
  file_path: "src/index.ts",
  suggested_code: NEW_INDEX,
  explanation: "legacy.ts is no longer used",
  tests: "",
  changes: [
    { path: "src/index.ts", action: "edit", edits: [], content: NEW_INDEX },
    { path: "src/legacy.ts", action: "delete", edits: [], content: null },
  ],
  verification: {
    verdict: "UNVERIFIED",
    summary: "",
    produced_by: { backend: "embedded", model: "m" },
    checks: [],
    notes: [],
  },
};

describe("eval's answer adapter", () => {
  it("keeps an answer's deletion, so the scored workspace no longer has the deleted file", async () => {
    const root = tempDir("builder-eval-adapter-");
    writeFiles(root, {
      "src/index.ts": 'export * from "./legacy.js";\n',
      "src/legacy.ts": "export const old = 1;\n",
      "src/math.ts": "export const add = (a: number, b: number): number => a + b;\n",
    });
    const changes = await changesOfSuggestion(root, SUGGESTION, []);
    expect(changes).toEqual([
      { path: "src/index.ts", content: NEW_INDEX },
      { path: "src/legacy.ts", content: null },
    ]);
    await applyChanges(root, changes, [], pino({ level: "silent" }));
    expect(readFileSync(path.join(root, "src/index.ts"), "utf8")).toBe(NEW_INDEX);
    expect(existsSync(path.join(root, "src/legacy.ts"))).toBe(false);
  });
});
