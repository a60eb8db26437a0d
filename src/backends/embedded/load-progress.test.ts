import path from "node:path";
import { describe, expect, it } from "vitest";
import { synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";
import { EmbeddedEngine } from "./engine.js";
import { threadCandidates } from "./thread-calibration.js";

describe("embedded engine load progress", () => {
  it("reports the model load up to 1, every thread calibration step, and the end, to the listener it is given", async () => {
    const dir = tempDir("builder-load-progress-");
    const fractions: number[] = [];
    const steps: Array<[number, number]> = [];
    let done = 0;
    const engine = await EmbeddedEngine.load({
      model: await synthesizeTestModel(),
      modelCacheDir: path.join(dir, "models"),
      calibrationFile: path.join(dir, "thread-calibration.json"),
      gpu: false,
      // No num_thread: the engine measures thread counts, and says how far it got.
      options: { num_ctx: 512 },
      progress: {
        onModelLoad: (fraction) => fractions.push(fraction),
        onCalibration: (measured, total) => steps.push([measured, total]),
        onDone: () => done++,
      },
    });
    try {
      expect(fractions.length).toBeGreaterThan(0);
      expect(fractions.at(-1)).toBe(1);
      expect(fractions.every((f, i) => f > 0 && f <= 1 && (i === 0 || f >= fractions[i - 1]))).toBe(true);
      const candidates = threadCandidates(engine.llama.cpuMathCores).length;
      // One candidate is nothing to measure; otherwise 0 of n before the first, then each of them.
      const expected = candidates > 1 ? Array.from({ length: candidates + 1 }, (_, i) => [i, candidates]) : [];
      expect(steps).toEqual(expected);
      expect(done).toBe(1);
    } finally {
      await engine.dispose();
    }
  });
});
