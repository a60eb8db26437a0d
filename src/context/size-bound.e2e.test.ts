import { describe, expect, it } from "vitest";
import { runCli, type CliResult } from "../test-support/cli.js";
import { loggedError } from "../test-support/e2e.js";
import { SAMPLE_TASK, sampleWorkspace, synthesizeTestModel, tempDir } from "../test-support/fixtures.js";

/** `builder run` in `workspace` with a 20 MiB objective on stdin. */
function runHugeTask(workspace: string): Promise<CliResult> {
  const home = tempDir("builder-home-");
  const task = { ...SAMPLE_TASK, objective: "add a function ".repeat(Math.ceil((20 * 1024 * 1024) / 15)) };
  return runCli(["run"], { cwd: workspace, stdin: JSON.stringify(task), env: { HOME: home, XDG_CACHE_HOME: home } });
}

describe("builder run with a task far larger than the context window", () => {
  it("refuses a 20 MiB objective by its size before tokenizing it, with CONTEXT_OVERFLOW (exit 4)", async () => {
    const result = await runHugeTask(sampleWorkspace(await synthesizeTestModel()));
    expect(result.code, result.stderr.slice(-2000)).toBe(4);
    expect(result.stdout).toBe("");
    const error = loggedError(result.stderr);
    expect(error.code).toBe("CONTEXT_OVERFLOW");
    expect(error.message).toMatch(
      /are \d{8} bytes, at least \d+ tokens even at \d+ bytes per token .*Refused by its size before tokenizing/,
    );
    expect(error.details).toMatchObject({ refused_by: "size", num_ctx: 3072 });
  });

  it("refuses it before the model loads: a missing model file is never even looked for", async () => {
    const result = await runHugeTask(sampleWorkspace("models/not-there.gguf"));
    expect(result.code, result.stderr.slice(-2000)).toBe(4);
    const error = loggedError(result.stderr);
    expect(error).toMatchObject({ code: "CONTEXT_OVERFLOW", details: { refused_by: "size", max_token_bytes: 1024 } });
  });
});
