import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { EvalRowSchema, type EvalRow } from "../../eval/results.js";
import { CLI_PATH, runCli } from "../../test-support/cli.js";
import { synthesizeTestModel, tempDir, writeFiles } from "../../test-support/fixtures.js";
import { git, gitRepo } from "../../test-support/git-repo.js";

let repo: string;
let firstCommit: string;
let configDir: string;
let home: string;

const MATH = "export function add(a, b) {\n  return a + b;\n}\n";
const CLAMP_BUGGY = "export function clamp(v, lo, hi) {\n  return Math.max(lo, v);\n}\n";

/**
 * A JavaScript project with `node --test` tests and four commits after the first: a function added
 * with its test, a bug fixed with a regression test, a test for code that already worked (its tests
 * pass before the change: --validate must drop it), and a README change (no tests: no case).
 */
function fixtureRepo(): { repo: string; first: string } {
  const root = gitRepo({
    "package.json": JSON.stringify(
      { name: "fixture", type: "module", private: true, scripts: { test: "node --test" } },
      null,
      2,
    ),
    "src/math.js": MATH,
    "src/clamp.js": CLAMP_BUGGY,
    "test/math.test.js":
      'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { add } from "../src/math.js";\ntest("add", () => assert.equal(add(2, 3), 5));\n',
  });
  const first = git(root, "rev-parse", "HEAD").trim();
  const commit = (message: string, files: Record<string, string>): void => {
    writeFiles(root, files);
    git(root, "add", "-A");
    git(root, "commit", "-q", "-m", message);
  };
  commit("Add multiply\n\nmultiply(a, b) returns the product.", {
    "src/math.js": MATH + "\nexport function multiply(a, b) {\n  return a * b;\n}\n",
    "test/math.test.js":
      'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { add, multiply } from "../src/math.js";\ntest("add", () => assert.equal(add(2, 3), 5));\ntest("multiply", () => assert.equal(multiply(4, 5), 20));\n',
  });
  commit("Fix clamp: respect the upper bound", {
    "src/clamp.js": "export function clamp(v, lo, hi) {\n  return Math.min(hi, Math.max(lo, v));\n}\n",
    "test/clamp.test.js":
      'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { clamp } from "../src/clamp.js";\ntest("clamp keeps the upper bound", () => assert.equal(clamp(42, 0, 10), 10));\n',
  });
  commit("Document add and test negative numbers", {
    "src/math.js": "/** The sum. */\n" + MATH + "\nexport function multiply(a, b) {\n  return a * b;\n}\n",
    "test/add-negative.test.js":
      'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { add } from "../src/math.js";\ntest("add negatives", () => assert.equal(add(-2, -3), -5));\n',
  });
  commit("README", { "README.md": "# fixture\n" });
  return { repo: root, first };
}

beforeAll(async () => {
  const modelPath = await synthesizeTestModel();
  ({ repo, first: firstCommit } = fixtureRepo());
  configDir = tempDir("builder-eval-config-");
  home = tempDir("builder-home-");
  writeFileSync(
    path.join(configDir, "builder.config.json"),
    JSON.stringify({ model: modelPath, options: { num_ctx: 4096, num_predict: 512, num_thread: 1, seed: 7 } }),
  );
});

const env = (): NodeJS.ProcessEnv => ({ HOME: home, XDG_CACHE_HOME: home });
const rowsOf = (file: string): EvalRow[] =>
  readFileSync(file, "utf8")
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => EvalRowSchema.parse(JSON.parse(line)));
const gitArgs = (out: string): string[] => [
  "eval",
  "--from-git",
  "--repo",
  repo,
  "--range",
  `${firstCommit}..HEAD`,
  "--validate",
  "--json",
  "--out",
  out,
  "--config",
  path.join(configDir, "builder.config.json"),
];

describe("builder eval --from-git --validate", () => {
  let referenceOut: string;

  it("keeps the commits whose tests fail before and pass after, drops the one that already passed, and the reference passes them all; the repository is untouched", async () => {
    referenceOut = path.join(tempDir("builder-eval-out-"), "reference.jsonl");
    const statusBefore = git(repo, "status", "--porcelain");
    const result = await runCli([...gitArgs(referenceOut), "--reference"], {
      cwd: configDir,
      env: env(),
      timeoutMs: 240_000,
    });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const output = JSON.parse(result.stdout) as {
      validation: { valid: number; dropped: Array<{ case_id: string; reason: string }> };
      summary: { cases: number; passed: number; pass_rate: number };
      commits_skipped: number;
    };
    expect(output.validation.valid).toBe(2);
    expect(output.validation.dropped).toEqual([expect.objectContaining({ reason: "passes-before" })]);
    expect(output.commits_skipped).toBe(1);
    expect(output.summary).toMatchObject({ cases: 2, passed: 2, pass_rate: 1 });
    expect(result.stderr).toMatch(/validation: kept 2 of 3 case\(s\), dropped 1 \(1 passes-before\)/);
    const rows = rowsOf(referenceOut);
    expect(rows.map((r) => [r.answerer, r.applied, r.passed])).toEqual([
      ["reference", true, true],
      ["reference", true, true],
    ]);
    expect(git(repo, "status", "--porcelain")).toBe(statusBefore);
    expect(git(repo, "worktree", "list", "--porcelain").match(/^worktree /gm)).toHaveLength(1);
  }, 300_000);

  it("runs the model on the valid cases on the real engine: one row per case, each accounted for, and compare puts it beside the reference", async () => {
    const modelOut = path.join(tempDir("builder-eval-out-"), "model.jsonl");
    const result = await runCli([...gitArgs(modelOut), "--max-repairs", "0"], {
      cwd: configDir,
      env: env(),
      timeoutMs: 300_000,
    });
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    const summary = (JSON.parse(result.stdout) as { summary: Record<string, unknown> }).summary;
    expect(summary).toMatchObject({ cases: 2 });
    for (const key of [
      "pass_rate",
      "apply_rate",
      "well_formed_rate",
      "tokens_in",
      "tokens_out",
      "latency_p50_ms",
      "latency_p95_ms",
    ])
      expect(summary, key).toHaveProperty(key);
    expect(summary.tokens_in as number).toBeGreaterThan(0);
    const rows = rowsOf(modelOut);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ answerer: "model", backend: "embedded" });
      expect(row.passed || row.stopped_at !== null, JSON.stringify(row)).toBe(true);
      expect(row.prompt_tokens).toBeGreaterThan(0);
    }
    expect(result.stderr).toMatch(/^case\s+result\s+verdict/m);

    const compared = await runCli(["eval", "compare", referenceOut, modelOut, "--json"], { env: env() });
    expect(compared.code, compared.stderr).toBe(0);
    const comparison = JSON.parse(compared.stdout) as {
      cases: Array<{ case_id: string; a: { passed: boolean } | null; b: unknown }>;
      common: { cases: number; a_passed: number };
    };
    expect(comparison.common).toMatchObject({ cases: 2, a_passed: 2 });
    expect(comparison.cases.map((c) => c.case_id).sort()).toEqual(rows.map((r) => r.case_id).sort());
    const table = await runCli(["eval", "compare", referenceOut, modelOut], { env: env() });
    expect(table.stdout).toMatch(/on the 2 case\(s\) both ran: A passed 2, B passed \d/);
  }, 400_000);
});

describe("builder eval --suite builtin on the random model", () => {
  it("scores 0% with every case accounted for, and --resume after a kill finishes the run without repeating a case", async () => {
    const out = path.join(tempDir("builder-eval-out-"), "builtin.jsonl");
    const args = [
      "eval",
      "--suite",
      "builtin",
      "--limit",
      "3",
      "--max-repairs",
      "0",
      "--out",
      out,
      "--config",
      path.join(configDir, "builder.config.json"),
    ];
    // Killed once the first case's row is written: the other cases are lost in flight or never started.
    await new Promise<void>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI_PATH, ...args], {
        cwd: configDir,
        env: { ...process.env, ...env(), BUILDER_LOG_LEVEL: "warn", BUILDER_KEEP_ALIVE: "0" },
        stdio: "ignore",
      });
      const poll = setInterval(() => {
        if (existsSync(out) && readFileSync(out, "utf8").includes("\n")) child.kill("SIGKILL");
      }, 100);
      child.on("error", reject);
      child.on("exit", () => {
        clearInterval(poll);
        resolve();
      });
    });
    const beforeResume = rowsOf(out);
    expect(beforeResume.length).toBeGreaterThanOrEqual(1);
    expect(beforeResume.length).toBeLessThan(3);
    const refused = await runCli(args, { cwd: configDir, env: env() });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/already exists\. Add --resume/);

    const resumed = await runCli([...args, "--resume", "--json"], { cwd: configDir, env: env(), timeoutMs: 400_000 });
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    const output = JSON.parse(resumed.stdout) as {
      resumed: number;
      ran: number;
      summary: { cases: number; passed: number; pass_rate: number };
    };
    expect(output.resumed).toBe(beforeResume.length);
    expect(output.ran).toBe(3 - beforeResume.length);
    expect(output.summary).toMatchObject({ cases: 3, passed: 0, pass_rate: 0 });
    const rows = rowsOf(out);
    expect(rows.map((r) => r.case_id).sort()).toEqual(["add-chunk", "add-clamp", "add-parse-duration"]);
    for (const row of rows) expect(row.passed === false && row.stopped_at !== null, JSON.stringify(row)).toBe(true);
  }, 600_000);
});

describe("builder eval usage", () => {
  it("needs a suite or --from-git with a range", async () => {
    const none = await runCli(["eval"], { cwd: configDir, env: env() });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/Name a suite/);
    const noRange = await runCli(["eval", "--from-git"], { cwd: configDir, env: env() });
    expect(noRange.code).toBe(2);
    expect(noRange.stderr).toMatch(/--from-git needs --range/);
    const badRange = await runCli(["eval", "--from-git", "--repo", repo, "--range", "nope..HEAD", "--reference"], {
      cwd: configDir,
      env: env(),
    });
    expect(badRange.code).toBe(2);
    expect(badRange.stderr).toMatch(/git log nope\.\.HEAD failed/);
  });
});
