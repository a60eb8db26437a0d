import { writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { tempDir } from "../../test-support/fixtures.js";
import { gitRepo } from "../../test-support/git-repo.js";

/**
 * A cloned repository's config cannot point the prompt at files outside it: the run stops before any
 * model loads (the configured model does not exist, so reaching it would exit 3), with exit 7.
 */
describe("builder run with knowledge files outside the workspace", () => {
  it("refuses ../outside with WORKSPACE_ESCAPE naming the key, and reads it once it is allow-listed", async () => {
    const outside = tempDir("builder-outside-");
    writeFileSync(path.join(outside, "notes.md"), "OUTSIDE-NOTES\n");
    const root = gitRepo({ "src/a.ts": "export const a = 1;\n" });
    const config = {
      model: "/nonexistent/model.gguf",
      knowledge: [path.relative(root, path.join(outside, "notes.md"))],
    };
    expect(config.knowledge[0]?.startsWith("../")).toBe(true);
    writeFileSync(path.join(root, "builder.config.json"), JSON.stringify(config));
    const refused = await runCli(["run", "-m", "Add a", "-f", "src/a.ts"], { cwd: root });
    const error = jsonLines(refused.stderr).find((line) => typeof line.error === "object")?.error as
      { code: string; message: string } | undefined;
    expect(refused.code, refused.stderr).toBe(7);
    expect(error?.code).toBe("WORKSPACE_ESCAPE");
    expect(error?.message).toContain("knowledge[0]");
    expect(refused.stdout).toBe("");

    writeFileSync(
      path.join(root, "builder.config.json"),
      JSON.stringify({ ...config, knowledge_allow_outside: [outside] }),
    );
    const allowed = await runCli(["run", "-m", "Add a", "-f", "src/a.ts"], { cwd: root });
    expect(allowed.code, allowed.stderr).toBe(3);
    expect(allowed.stderr).toContain("knowledge_allow_outside");
  });
});
