import { existsSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { buildRepoMap } from "../context/repo-map.js";
import { WorkspaceEscapeError } from "../errors/errors.js";
import { recordTrainingExample } from "../learning/record-training.js";
import { tempDir } from "../test-support/fixtures.js";
import { gitRepo } from "../test-support/git-repo.js";
import { createLogger } from "../telemetry/logger.js";
import { recordRunMetrics, type RunMetrics } from "../telemetry/metrics.js";
import { applyEdits } from "./apply.js";
import { ensureBuilderDir } from "./builder-dir.js";
import { WorkspaceSandbox } from "./sandbox.js";
import { saveSuggestion } from "./suggestion-apply.js";

const logger = createLogger({ level: "silent" });

const METRICS: RunMetrics = {
  event: "run",
  run_id: "r1",
  timestamp: new Date(0).toISOString(),
  task_id: "t",
  backend: "embedded",
  model: "m",
  load_ms: 0,
  prompt_tokens: 1,
  prompt_ms: null,
  time_to_first_token_ms: null,
  generated_tokens: 0,
  tokens_per_sec: null,
  total_ms: 0,
  success: true,
  error: null,
};

/** A repository whose `.builder` (or a folder in it) is a link to a folder outside; returns both. */
function linkedRepo(link: ".builder" | ".builder/backups"): { root: string; outside: string } {
  const root = gitRepo({ "src/a.ts": "export const a = 1;\n" });
  const outside = tempDir("builder-outside-");
  if (link === ".builder/backups") mkdirSync(path.join(root, ".builder"));
  symlinkSync(outside, path.join(root, ...link.split("/")));
  return { root, outside };
}

describe(".builder must be a real folder inside the workspace", () => {
  it("apply refuses a .builder link before writing anything, here or outside", async () => {
    for (const link of [".builder", ".builder/backups"] as const) {
      const { root, outside } = linkedRepo(link);
      const sandbox = await WorkspaceSandbox.open({ root });
      await expect(
        applyEdits([{ kind: "write", path: "src/a.ts", content: "changed\n" }], { sandbox, runId: "r1" }),
        link,
      ).rejects.toBeInstanceOf(WorkspaceEscapeError);
      expect(readdirSync(outside), link).toEqual([]);
    }
  });

  it("saved suggestions, metrics, training data and the repo-map cache never go through a .builder link", async () => {
    const { root, outside } = linkedRepo(".builder");
    await expect(ensureBuilderDir(root)).rejects.toThrow(/\.builder .*symbolic link/);
    await expect(saveSuggestion(root, "r1", { file_path: "src/a.ts" })).rejects.toBeInstanceOf(WorkspaceEscapeError);
    await recordRunMetrics(METRICS, root, logger);
    const outcome = await recordTrainingExample(
      {
        workspace: root,
        runId: "r1",
        task: {
          task_id: "t",
          objective: "o",
          files: ["src/a.ts"],
          acceptance: [],
          constraints: { loc_max: 100, pack: "" },
        },
        messages: [{ role: "user", content: "hi" }],
        suggestion: {
          file_path: "src/a.ts",
          suggested_code: "x",
          explanation: "e",
          tests: "",
          verification: {
            verdict: "VERIFIED",
            summary: "ok",
            produced_by: { backend: "b", model: "m" },
            checks: [],
            notes: [],
          },
        },
      },
      logger,
    );
    expect(outcome.recorded).toBe(false);
    await buildRepoMap(root, [{ path: "src/a.ts", size: 20, mtimeMs: 1 }]);
    expect(readdirSync(outside)).toEqual([]);
  });

  it("a real .builder folder still works and ignores itself", async () => {
    const root = gitRepo({ "src/a.ts": "export const a = 1;\n" });
    await recordRunMetrics(METRICS, root, logger);
    expect(existsSync(path.join(root, ".builder", "metrics.jsonl"))).toBe(true);
    expect(existsSync(path.join(root, ".builder", ".gitignore"))).toBe(true);
    expect(await saveSuggestion(root, "r1", {})).toBe(path.join(root, ".builder", "suggestions", "r1.json"));
  });
});
