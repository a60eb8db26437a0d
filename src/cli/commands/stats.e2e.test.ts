import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { tempDir, writeFiles } from "../../test-support/fixtures.js";

const FIXTURE = fileURLToPath(new URL("../../stats/__fixtures__/metrics.jsonl", import.meta.url));
let workspace: string;

beforeAll(() => {
  workspace = tempDir("builder-stats-ws-");
  writeFiles(workspace, {
    "builder.config.json": JSON.stringify({
      cost: { power_watts: 500, electricity_price_per_kwh: 0.4, currency: "EUR" },
    }),
  });
  mkdirSync(path.join(workspace, ".builder"));
  copyFileSync(FIXTURE, path.join(workspace, ".builder", "metrics.jsonl"));
});

describe("builder stats and builder cost", () => {
  it("stats reads the workspace's metrics file, per backend and model, as JSON", async () => {
    const result = await runCli(["stats", "--json"], { cwd: workspace });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as {
      groups: Array<{ model: string; runs: number }>;
      total: { runs: number };
    };
    expect(report.total.runs).toBe(6);
    expect(report.groups.map((g) => [g.model, g.runs])).toEqual([
      ["/models/coder-a.gguf", 4],
      ["qwen2.5-coder:7b", 2],
    ]);
  });

  it("stats --since narrows the period", async () => {
    const result = await runCli(["stats", "--since", "2025-01-05"], { cwd: workspace });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("2 runs, from 2025-01-05T00:00:00.000Z to now");
  });

  it("a bad --since is a usage error", async () => {
    const result = await runCli(["stats", "--since", "someday"], { cwd: workspace });
    expect(result.code).toBe(2);
    expect(jsonLines(result.stderr).find((l) => "error" in l)?.error).toMatchObject({ code: "USAGE" });
  });

  it("cost uses the configured power and price and labels the built-in API prices as dated defaults", async () => {
    const result = await runCli(["cost"], { cwd: workspace });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain("power 500 W; electricity 0.4 EUR/kWh");
    expect(result.stdout).toContain("DEFAULT list price as of 2025-01, not measured");
    expect(result.stdout).toContain("The built-in API prices are in USD but cost.currency is EUR");
    const json = await runCli(["cost", "--json"], { cwd: workspace });
    const report = JSON.parse(json.stdout) as {
      total: { local_cost: number; apis: Array<{ name: string; api_cost: number }> };
    };
    expect(report.total.local_cost).toBeCloseTo(0.00091667, 6);
    expect(report.total.apis.find((a) => a.name === "gpt-4o")?.api_cost).toBeCloseTo((3000 * 2.5 + 1300 * 10) / 1e6, 6);
  });
});
