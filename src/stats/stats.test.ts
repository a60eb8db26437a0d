import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test-support/fixtures.js";
import { computeCost, resolveCostSettings } from "./cost.js";
import { formatCost, formatStats } from "./format-stats.js";
import { periodFromFlags, parseTimeBound } from "./period.js";
import { percentile } from "./percentile.js";
import { computeStats } from "./run-stats.js";
import { writeSyntheticMetrics } from "./synthetic-metrics.js";

const FIXTURE = fileURLToPath(new URL("./__fixtures__/metrics.jsonl", import.meta.url));

describe("builder stats figures (hand-computed from __fixtures__/metrics.jsonl)", () => {
  it("groups by backend + model, tolerating a broken line, other events and unknown fields", async () => {
    const report = await computeStats(FIXTURE);
    expect(report.scan).toEqual({ lines: 8, used: 6, skipped: 1, outsidePeriod: 0 });
    const [a, b] = report.groups;
    expect(a).toMatchObject({
      backend: "embedded",
      model: "/models/coder-a.gguf",
      runs: 4,
      successes: 3,
      success_rate: 0.75,
      verified: 1,
      verified_rate: 0.25,
      verdicts: { VERIFIED: 1, FAILED: 1, unrecorded: 2 },
      latency_ms: { p50: 2000, p95: 3000 },
      tokens_per_sec_p50: 20,
      time_to_first_token_ms: { p50: 200, p95: 300 },
      repair_rounds: { runs: 2, mean: 1, max: 2 },
      prompt_tokens: 1000,
      generated_tokens: 300,
      busy_ms: 6500,
      errors: { CONTEXT_OVERFLOW: 1 },
      first_run: "2025-01-01T00:00:00.000Z",
      last_run: "2025-01-04T00:00:00.000Z",
    });
    expect(b).toMatchObject({
      backend: "ollama",
      runs: 2,
      verified_rate: 1,
      latency_ms: { p50: 4000, p95: 6000 },
      tokens_per_sec_p50: 40,
      repair_rounds: null,
    });
    expect(report.total).toMatchObject({
      runs: 6,
      successes: 5,
      verified: 3,
      verified_rate: 0.5,
      latency_ms: { p50: 3000, p95: 6000 },
      prompt_tokens: 3000,
      generated_tokens: 1300,
      busy_ms: 16500,
    });
  });

  it("keeps only the runs inside --since / --until", async () => {
    const report = await computeStats(FIXTURE, periodFromFlags("2025-01-02", "2025-01-05T12:00:00Z"));
    expect(report.total.runs).toBe(4);
    expect(report.scan.outsidePeriod).toBe(2);
    expect(report.period).toEqual({ since: "2025-01-02T00:00:00.000Z", until: "2025-01-05T12:00:00.000Z" });
  });

  it("reads a missing file as no runs", async () => {
    const report = await computeStats(path.join(tempDir(), "none.jsonl"));
    expect(report.total.runs).toBe(0);
    expect(formatStats(report)).toContain("No runs recorded");
  });

  it("adds up speculative decoding's validated and refuted drafts and the reused prefix tokens", async () => {
    const file = path.join(tempDir(), "metrics.jsonl");
    const line = (extra: Record<string, unknown>): string =>
      JSON.stringify({
        event: "run",
        backend: "embedded",
        model: "m.gguf",
        success: true,
        total_ms: 10,
        timestamp: "2026-01-01T00:00:00Z",
        ...extra,
      });
    writeFileSync(
      file,
      [
        line({ draft_tokens_validated: 30, draft_tokens_refuted: 10, cached_prefix_tokens: 800 }),
        line({ draft_tokens_validated: 10, draft_tokens_refuted: 50 }),
        line({}),
      ].join("\n") + "\n",
    );
    const report = await computeStats(file);
    expect(report.total.draft_tokens).toEqual({ validated: 40, refuted: 60, acceptance: 0.4 });
    expect(report.total.cached_prefix_tokens).toBe(800);
    const text = formatStats(report);
    expect(text).toContain("40 draft tokens validated, 60 refuted (40.0% accepted)");
    expect(text).toContain("(Builder host, prefix cache): 800");
    expect((await computeStats(FIXTURE)).total.draft_tokens).toBeNull();
  });

  it("prints a table with one row per group and a total", async () => {
    const text = formatStats(await computeStats(FIXTURE));
    expect(text).toMatch(
      /embedded\s+coder-a\.gguf\s+4\s+75\.0%\s+25\.0%\s+2000 ms\s+3000 ms\s+20\.0\s+200 ms\s+1 \(max 2\)/,
    );
    expect(text).toMatch(/\(all\)\s+\(all\)\s+6\s+83\.3%\s+50\.0%/);
    expect(text).toContain("1 unreadable line skipped");
    expect(text).toContain("Failures: CONTEXT_OVERFLOW 1");
  });

  it("keeps setup errors (no model configured) out of the runs, and never prints two rows with the same label", async () => {
    const file = path.join(tempDir("builder-stats-"), "metrics.jsonl");
    const run = (model: string, extra: Record<string, unknown> = {}): string =>
      JSON.stringify({
        event: "run",
        timestamp: "2025-01-01T00:00:00.000Z",
        backend: "embedded",
        model,
        success: true,
        total_ms: 1000,
        ...extra,
      });
    writeFileSync(
      file,
      [
        run("/a/tiny.gguf"),
        run("/b/tiny.gguf"),
        run("", { success: false, error: "MODEL_NOT_CONFIGURED", total_ms: 30 }),
      ].join("\n") + "\n",
    );
    const report = await computeStats(file);
    expect(report.total).toMatchObject({ runs: 2, successes: 2, errors: {} });
    expect(report.not_started).toEqual({ MODEL_NOT_CONFIGURED: 1 });
    const text = formatStats(report);
    expect(text).toMatch(/embedded\s+\/a\/tiny\.gguf\s+1/);
    expect(text).toMatch(/embedded\s+\/b\/tiny\.gguf\s+1/);
    expect(text).not.toContain("Failures:");
    expect(text).toContain("Not started (setup errors, counted in no row): MODEL_NOT_CONFIGURED 1");
  });

  it("leaves runs without a measurable speed out of tok/s p50: null, and absurd figures from older lines", async () => {
    const file = path.join(tempDir(), "metrics.jsonl");
    const line = (tokens: number, speed: number | null): string =>
      JSON.stringify({
        event: "run",
        timestamp: "2025-01-01T00:00:00.000Z",
        backend: "ollama",
        model: "m",
        generated_tokens: tokens,
        tokens_per_sec: speed,
        total_ms: 1000,
        success: true,
      });
    // One-chunk answers: null (new writers) and 44871794.9 from 120 tokens (old writers; at most 119000 tok/s is measurable).
    writeFileSync(
      file,
      [
        line(120, 10),
        line(120, null),
        line(120, 44871794.9),
        line(120, 44871794.9),
        line(120, null),
        line(120, 20),
      ].join("\n") + "\n",
    );
    const report = await computeStats(file);
    expect(report.groups[0]).toMatchObject({ runs: 6, tokens_per_sec_p50: 10 });
    expect(formatStats(report)).not.toContain("44871794");
  });

  it("stays consistent on 20,000 generated lines: groups add up to the total", async () => {
    const file = path.join(tempDir(), "metrics.jsonl");
    await writeSyntheticMetrics(file, 20_000);
    const report = await computeStats(file);
    expect(report.scan.used).toBe(20_000);
    expect(report.groups.length).toBe(4);
    const sum = (pick: (g: (typeof report.groups)[number]) => number): number =>
      report.groups.reduce((s, g) => s + pick(g), 0);
    expect(sum((g) => g.runs)).toBe(report.total.runs);
    expect(sum((g) => g.successes)).toBe(report.total.successes);
    expect(sum((g) => g.generated_tokens)).toBe(report.total.generated_tokens);
    expect(report.total.latency_ms!.p50).toBeLessThanOrEqual(report.total.latency_ms!.p95);
    expect(readFileSync(file, "utf8").split("\n").length).toBe(20_001);
  });
});

describe("builder cost", () => {
  const settings = resolveCostSettings({
    power_watts: 500,
    electricity_price_per_kwh: 0.4,
    currency: "EUR",
    hardware_price: 1000,
    api_prices: { "api-x": { input_per_million: 3, output_per_million: 15, as_of: "2025-01" } },
  });

  it("local cost = busy time × power × price; API cost = measured tokens × list prices; savings and break-even", async () => {
    const cost = computeCost(await computeStats(FIXTURE), settings);
    // 16500 ms = 0.00458333 h; × 500 W = 0.00229167 kWh; × 0.4 = 0.00091667 EUR
    expect(cost.total.busy_hours).toBeCloseTo(16_500 / 3_600_000, 6);
    expect(cost.total.energy_kwh).toBeCloseTo(0.00229167, 6);
    expect(cost.total.local_cost).toBeCloseTo(0.00091667, 6);
    const [api] = cost.total.apis;
    // (3000 × 3 + 1300 × 15) / 1e6 = 0.0285
    expect(api.api_cost).toBeCloseTo(0.0285, 6);
    expect(api.savings).toBeCloseTo(0.0285 - 0.00091667, 6);
    // 1000 / ((0.0285 − 0.00091667) / 6 runs) = 217,523 runs
    expect(api.break_even_runs).toBe(217_523);
    // 0.0285 EUR / 0.00229167 kWh
    expect(api.break_even_electricity_price).toBeCloseTo(12.4364, 3);
  });

  it("labels defaults as defaults, never as measurements", async () => {
    const defaults = resolveCostSettings({});
    expect(defaults.power_watts.source).toBe("default");
    expect(defaults.api_prices.every((p) => p.source === "default" && p.as_of === "2025-01")).toBe(true);
    const text = formatCost(computeCost(await computeStats(FIXTURE), defaults));
    expect(text).toContain("350 W (DEFAULT, not measured: set cost.power_watts)");
    expect(text).toContain("(DEFAULT list price as of 2025-01, not measured)");
    expect(text).toContain("hardware price not set");
    const configured = formatCost(computeCost(await computeStats(FIXTURE), settings));
    expect(configured).not.toContain("DEFAULT");
    expect(configured).toMatch(/api-x\s+0\.0285 EUR\s+0\.0276 EUR\s+217523/);
  });

  it("says when built-in USD prices meet another currency", () => {
    expect(resolveCostSettings({ currency: "EUR" }).notes[0]).toContain("in USD");
  });
});

describe("helpers", () => {
  it("nearest-rank percentiles", () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4);
    expect(percentile([], 0.5)).toBeUndefined();
  });

  it("time bounds: ISO dates and ages", () => {
    const now = new Date("2025-03-10T12:00:00Z");
    expect(parseTimeBound("7d", "--since", now).toISOString()).toBe("2025-03-03T12:00:00.000Z");
    expect(parseTimeBound("90m", "--since", now).toISOString()).toBe("2025-03-10T10:30:00.000Z");
    expect(() => parseTimeBound("last tuesday", "--since", now)).toThrow(/--since "last tuesday" is not a date/);
    expect(() => periodFromFlags("2025-02-01", "2025-01-01")).toThrow(/after --until/);
  });
});
