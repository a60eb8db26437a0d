import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { describeBackend } from "../backends/descriptors.js";
import { EmbeddedEngine } from "../backends/embedded/engine.js";
import { synthesizeTestModel, tempDir } from "../test-support/fixtures.js";
import { answerConstraint, parseAnswer, resolveAnswerStyle } from "./answer-plan.js";
import { allowedFilesFor, resolveChanges } from "./resolve-changes.js";

/** A 300-line TypeScript-like file with many repeated lines (`}`, blank), as real code has. */
export function sampleSource(lines: number): string {
  const out: string[] = [];
  for (let i = 0; out.length < lines; i++)
    out.push(`export function f${i}(x: number): number {`, `  return x + ${i};`, "}", "");
  return out.slice(0, lines).join("\n") + "\n";
}

describe("the text answer grammar on the real llama.cpp engine", () => {
  let engine: EmbeddedEngine;
  beforeAll(async () => {
    const dir = tempDir();
    engine = await EmbeddedEngine.load({
      model: await synthesizeTestModel(),
      modelCacheDir: dir,
      gpu: false,
      options: { num_thread: 1, num_ctx: 4096 },
    });
  }, 120_000);
  afterAll(async () => engine?.dispose());

  it("lets even a random model write only edits that apply to the file as it is", async () => {
    const source = sampleSource(300);
    const taskFiles = [
      { path: "src/calc.ts", status: "present", content: source },
      { path: "src/calc.test.ts", status: "new" },
    ];
    const allowed = allowedFilesFor(taskFiles);
    const style = resolveAnswerStyle(describeBackend("embedded").capabilities, "auto", "auto");
    const files = [...allowed.files].map(([path, content]) => ({ path, content }));
    const { grammar } = answerConstraint(style, files, 1024);
    expect(grammar).toBeDefined();
    for (const seed of [1, 2, 3, 4, 5]) {
      const result = await engine.generate([{ role: "user", content: "change calc" }], {
        grammar: await engine.grammarForText(grammar as string),
        sampling: { maxTokens: 1024, temperature: 1, seed },
      });
      expect(result.stopReason).toBe("stop");
      const resolution = resolveChanges(parseAnswer(result.text, style), allowed);
      expect(resolution.ok ? [] : resolution.problems).toEqual([]);
    }
  }, 600_000);
});
