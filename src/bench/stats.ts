import { rm } from "node:fs/promises";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { computeStats } from "../stats/run-stats.js";
import { writeSyntheticMetrics } from "../stats/synthetic-metrics.js";
import type { BenchModule, BenchSection, BenchSize } from "./types.js";

/** Metric lines, and timed rounds after the warm-up: `smoke` only runs every step. */
const SIZES: Record<BenchSize, { lines: number; rounds: number }> = {
  full: { lines: 100_000, rounds: 3 },
  smoke: { lines: 2_000, rounds: 1 },
};
const TARGET_MS = 1000;

/** `builder stats` over 100,000 generated metric lines: the whole streaming read and aggregation. */
export const statsBench: BenchModule = {
  id: "stats",
  async run(size: BenchSize): Promise<BenchSection> {
    const { lines, rounds } = SIZES[size];
    const dir = mkdtempSync(path.join(tmpdir(), "builder-bench-stats-"));
    const file = path.join(dir, "metrics.jsonl");
    try {
      await writeSyntheticMetrics(file, lines);
      await computeStats(file); // warm-up: JIT and page cache
      const timings: number[] = [];
      let runs = 0;
      for (let i = 0; i < rounds; i += 1) {
        const started = performance.now();
        const report = await computeStats(file);
        timings.push(performance.now() - started);
        runs = report.total.runs;
      }
      const best = Math.min(...timings);
      return {
        title: "Stats",
        results: [
          {
            name: `builder stats over ${lines.toLocaleString("en-US")} metric lines`,
            value: Math.round(best),
            unit: "ms",
            target: `< ${TARGET_MS} ms`,
            pass: best < TARGET_MS && runs === lines,
            detail: `best of ${rounds}: ${timings.map((t) => Math.round(t)).join(", ")} ms; ${runs} runs aggregated`,
          },
        ],
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
