import path from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { gitRepo } from "../../test-support/git-repo.js";

function errorOf(stderr: string): { code: string; message: string; details: Record<string, unknown> } | undefined {
  return jsonLines(stderr).find((line) => typeof line.error === "object" && line.error !== null)?.error as
    { code: string; message: string; details: Record<string, unknown> } | undefined;
}

/**
 * Over-long paths in a task are a bad task (exit 2), refused before any model loads: the configured
 * model does not exist, so reaching the model would end with MODEL_NOT_FOUND (exit 3) instead.
 */
describe("builder run with over-long task paths", () => {
  const workspace = (): string =>
    gitRepo({
      "builder.config.json": JSON.stringify({ model: "/nonexistent/model.gguf" }),
      "src/a.ts": "export const a = 1;\n",
    });

  it("refuses a 300-byte file name with TASK_INVALID naming the file and the 255-byte limit", async () => {
    const name = `${"n".repeat(297)}.ts`;
    const result = await runCli(["run", "-m", "Add a", "-f", `src/${name}`], { cwd: workspace() });
    const error = errorOf(result.stderr);
    expect(result.code, result.stderr).toBe(2);
    expect(error?.code).toBe("TASK_INVALID");
    expect(error?.message).toContain(name);
    expect(error?.message).toContain("255 bytes");
    expect(result.stdout).toBe("");
  });

  it("refuses a 6,000-character path with TASK_INVALID naming the limit", async () => {
    const long = path.posix.join(
      ...Array.from({ length: 60 }, (_, i) => `folder-${String(i).padStart(3, "0")}-${"x".repeat(88)}`),
      "a.ts",
    );
    expect(long.length).toBeGreaterThan(5_900);
    const result = await runCli(["run", "-m", "Add a", "-f", long], { cwd: workspace() });
    const error = errorOf(result.stderr);
    expect(result.code, result.stderr).toBe(2);
    expect(error?.code).toBe("TASK_INVALID");
    expect(error?.message).toMatch(/4096 bytes|1024 bytes/);
    expect(error?.message).toContain("folder-000-");
  });
});
