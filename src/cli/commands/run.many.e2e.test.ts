import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { SAMPLE_TASK, sampleWorkspace, synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";

let workspace: string;
let home: string;

beforeAll(async () => {
  workspace = sampleWorkspace(await synthesizeTestModel());
  home = tempDir("builder-home-");
  writeFileSync(path.join(workspace, "tasks/second.json"), JSON.stringify({ ...SAMPLE_TASK, task_id: "crm-002" }));
});

describe("builder run with several task files", () => {
  it("prints one JSON line per task with its metrics, on the embedded backend too", async () => {
    const result = await runCli(["run", "tasks/create-contact.json", "tasks/second.json", "--concurrency", "2"], {
      cwd: workspace,
      env: { HOME: home, XDG_CACHE_HOME: home },
    });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.task_id).sort()).toEqual(["crm-001", "crm-002"]);
    for (const line of lines)
      expect(line).toMatchObject({
        ok: true,
        metrics: { backend: "embedded", success: true },
        suggestion: { verification: { verdict: "UNVERIFIED" } },
      });
    const metricsFile = path.join(workspace, ".builder", "metrics.jsonl");
    expect(existsSync(metricsFile)).toBe(true);
    expect(jsonLines(readFileSync(metricsFile, "utf8")).filter((m) => m.task_id === "crm-002")).toHaveLength(1);
  });

  it("rejects a concurrency below 1", async () => {
    const result = await runCli(["run", "tasks/create-contact.json", "tasks/second.json", "--concurrency", "0"], {
      cwd: workspace,
      env: { HOME: home },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--concurrency must be at least 1/);
  });
});
