import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../test-support/cli.js";
import { gitRepo } from "../test-support/git-repo.js";
import { tempDir } from "../test-support/fixtures.js";

/** What the README promises about the command line itself: usage errors exit 2, whichever command they hit. */
describe("builder command-line usage errors", () => {
  it("exit 2 for an unknown option or command, or a bad choice, on every command level", async () => {
    for (const args of [
      ["run", "--bogus"],
      ["nosuch"],
      ["stats", "--log-level", "loud"],
      ["dataset", "export", "--format", "csv"],
      ["serve", "--port", "x"],
    ]) {
      const result = await runCli(args);
      expect(result.code, `builder ${args.join(" ")}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args.join(" ")).toMatch(/error|USAGE/);
    }
  });
});

describe("mistakes a new user makes, each answered with what is wrong and what to do", () => {
  it("a missing task file, a mistyped suite name, stopping a model that no engine runs: named, non-zero", async () => {
    const cwd = tempDir("builder-mistakes-");
    const env = { HOME: cwd, XDG_CACHE_HOME: cwd };
    const task = await runCli(["run", "tasks/nope.json"], { cwd, env });
    expect(task.code).toBe(2);
    expect(task.stderr).toContain("Cannot read task file tasks/nope.json: no such file in");
    expect(task.stderr).toContain("pipe the task on stdin");
    const suite = await runCli(["eval", "--suite", "bultin", "--reference"], { cwd, env });
    expect(suite.code).not.toBe(0);
    expect(suite.stderr).toContain("Did you mean --suite builtin");
    // Before `builder init`, in a folder with the agent setup: the two ways to use it are named.
    writeFileSync(path.join(cwd, "config.json"), JSON.stringify({ builder: { mode: "ollama_local" } }));
    const noModel = await runCli(["run", "-m", "x"], { cwd, env });
    expect(noModel.code).toBe(3);
    expect(noModel.stderr).toContain("run `builder init` to write builder.config.json from it");
    expect(noModel.stderr).toContain("--config config.json");
    const stop = await runCli(["stop", "nonexistent.gguf"], { cwd, env: { ...env, BUILDER_ENGINE_DIR: cwd } });
    expect(stop.code, stop.stderr).toBe(2);
    expect(stop.stderr).toMatch(/nonexistent\.gguf; nothing was stopped/);
  });
});

describe("builder apply of a FAILED suggestion", () => {
  it("writes it as asked, backed up, and warns that it failed verification", async () => {
    const root = gitRepo({ "builder.config.json": "{}", "src/a.ts": "export const a = 1;\n" });
    const suggestion = {
      file_path: "src/a.ts",
      suggested_code: "export const a: number = 'x';\n",
      verification: {
        verdict: "FAILED",
        summary: "FAILED verification: typecheck failed (1)",
        produced_by: { backend: "embedded", model: "m.gguf" },
        checks: [],
        notes: [],
      },
    };
    const result = await runCli(["apply", "-"], { cwd: root, stdin: JSON.stringify(suggestion) });
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(path.join(root, "src/a.ts"), "utf8")).toBe(suggestion.suggested_code);
    expect(
      jsonLines(result.stderr).some((line) => line.level === "warn" && /FAILED verification/.test(String(line.msg))),
    ).toBe(true);
  });
});
