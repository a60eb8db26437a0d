import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../../task/schema.js";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";
import { hashTree, typescriptProject } from "../../test-support/ts-project-fixture.js";

let modelPath: string;
let cacheHome: string;

beforeAll(async () => {
  modelPath = await synthesizeTestModel({ contextLength: 8192 });
  cacheHome = tempDir("builder-cache-");
});

/** A git TypeScript project configured for the synthesized model. */
function workspace(): string {
  return typescriptProject({
    git: true,
    files: {
      "builder.config.json": JSON.stringify({
        model: modelPath,
        bounded_answer: true,
        options: { num_ctx: 6144, num_predict: 512, num_thread: 1, seed: 7 },
      }),
      "src/contact-service.ts": "export interface Contact {\n  id: string;\n  email: string;\n}\n",
    },
  });
}

const TASK_FLAGS = [
  "run",
  "-m",
  "Add a createContact function",
  "-f",
  "src/contact-service.ts",
  "--accept",
  "has vitest tests",
  "--loc-max",
  "40",
];

describe("builder run with verification, on the embedded engine (random-weight model)", () => {
  it("ends in a clear FAILED verdict after the allowed rounds, exit 8, suggestion on stdout, the real tree untouched", async () => {
    const ws = workspace();
    const before = hashTree(ws);
    const result = await runCli([...TASK_FLAGS, "--max-repairs", "1"], {
      cwd: ws,
      env: { XDG_CACHE_HOME: cacheHome, HOME: cacheHome },
      timeoutMs: 300_000,
    });
    expect(result.code, result.stderr.slice(-2000)).toBe(8);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(result.stdout));
    const { verification } = suggestion;
    expect(verification.verdict).toBe("FAILED");
    expect(verification.summary).toMatch(/^FAILED verification/);
    expect(verification.repair_rounds).toBe(1);
    expect(verification.notes).toContain("still failing after the allowed 1 repair round(s)");
    expect(verification.checks.some((c) => c.status === "failed" && (c.diagnostics?.length ?? 0) > 0)).toBe(true);
    const error = jsonLines(result.stderr).find((line) => typeof line.error === "object" && line.error !== null)
      ?.error as { code: string; message: string };
    expect(error.code).toBe("VERIFICATION_FAILED");
    expect(error.message).toMatch(/nothing was written to the workspace/);
    const metrics = jsonLines(result.stderr).find((line) => line.msg === "run metrics");
    expect(metrics).toMatchObject({ success: true, verdict: "FAILED", repair_rounds: verification.repair_rounds });
    expect(metrics?.rounds).toEqual([
      expect.objectContaining({ round: 0, verdict: "FAILED" }),
      expect.objectContaining({ round: 1, verdict: "FAILED" }),
    ]);
    // The real tree: every file byte-identical, no worktree left registered, git status clean.
    expect(hashTree(ws)).toEqual(before);
    expect(
      execFileSync("git", ["-C", ws, "worktree", "list", "--porcelain"])
        .toString()
        .match(/^worktree /gm),
    ).toHaveLength(1);
    expect(execFileSync("git", ["-C", ws, "status", "--porcelain"]).toString()).toBe("");
  });

  it("skips the checks with --no-verify: UNVERIFIED, exit 0", async () => {
    const ws = workspace();
    const result = await runCli([...TASK_FLAGS, "--no-verify"], {
      cwd: ws,
      env: { XDG_CACHE_HOME: cacheHome, HOME: cacheHome },
    });
    expect(result.code, result.stderr.slice(-2000)).toBe(0);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(result.stdout));
    expect(suggestion.verification.verdict).toBe("UNVERIFIED");
    expect(suggestion.verification.summary).toMatch(/switched off \(--no-verify\)/);
  });

  it("rejects a negative --max-repairs as a usage error", async () => {
    const result = await runCli([...TASK_FLAGS, "--max-repairs", "-1"], {
      cwd: workspace(),
      env: { XDG_CACHE_HOME: cacheHome, HOME: cacheHome },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--max-repairs must be 0 or more/);
  });
});
