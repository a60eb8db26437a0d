import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { tempDir } from "../../test-support/fixtures.js";
import { useSynthesizedModel } from "../../test-support/e2e.js";
import { gitRepo, treeSnapshot } from "../../test-support/git-repo.js";
import { runCliReadOnly } from "../../test-support/read-only.js";

const setup = useSynthesizedModel();
const env = (): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: setup.home, HOME: setup.home });

function workspace(): string {
  return gitRepo({
    "builder.config.json": JSON.stringify({
      model: setup.modelPath,
      options: { num_ctx: 4096, num_predict: 512, num_thread: 1, seed: 11 },
    }),
    "src/db.ts": "export function query(sql: string): unknown {\n  return sql;\n}\n",
  });
}

function errorOf(stderr: string): { code: string; message: string } | undefined {
  return jsonLines(stderr).find((line) => typeof line.error === "object" && line.error !== null)?.error as
    { code: string; message: string } | undefined;
}

/** A suggestion file outside the workspace (which cannot hold one: it is read-only). */
function suggestionFile(): string {
  const file = path.join(tempDir("builder-suggestion-"), "s.json");
  writeFileSync(file, JSON.stringify({ file_path: "src/db.ts", suggested_code: "export const changed = 1;\n" }));
  return file;
}

describe("a read-only workspace: dry runs still show the diff, applies fail clearly with APPLY_FAILED", () => {
  it("builder apply fails with APPLY_FAILED saying the workspace is not writable; --dry-run prints the diff", async () => {
    const root = workspace();
    const before = treeSnapshot(root);
    const applied = await runCliReadOnly(root, ["apply", suggestionFile()], { env: env() });
    expect(applied.code, applied.stderr).toBe(7);
    expect(errorOf(applied.stderr)?.code).toBe("APPLY_FAILED");
    expect(errorOf(applied.stderr)?.message).toMatch(/is not writable/);
    expect(applied.stdout).toBe("");
    expect(treeSnapshot(root)).toEqual(before);
    expect(existsSync(path.join(root, ".builder"))).toBe(false);

    const dry = await runCliReadOnly(root, ["apply", suggestionFile(), "--dry-run"], { env: env() });
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain("+export const changed = 1;");
  });

  it("the same when .builder already exists from an earlier apply", async () => {
    const root = workspace();
    const first = await runCli(["apply", "-"], {
      cwd: root,
      env: env(),
      stdin: JSON.stringify({ file_path: "src/new.ts", suggested_code: "x\n" }),
    });
    expect(first.code, first.stderr).toBe(0);
    const before = treeSnapshot(root);
    const applied = await runCliReadOnly(root, ["apply", suggestionFile()], { env: env() });
    expect(applied.code, applied.stderr).toBe(7);
    expect(errorOf(applied.stderr)).toMatchObject({
      code: "APPLY_FAILED",
      message: expect.stringMatching(/is not writable/),
    });
    expect(treeSnapshot(root)).toEqual(before);
    const undoDry = await runCliReadOnly(root, ["undo", "--dry-run"], { env: env() });
    expect(undoDry.code, undoDry.stderr).toBe(0);
    expect(undoDry.stdout).toContain("deleted file mode 100644");
    const undo = await runCliReadOnly(root, ["undo"], { env: env() });
    expect(undo.code, undo.stderr).toBe(7);
    expect(errorOf(undo.stderr)?.code).toBe("APPLY_FAILED");
  });

  it("builder run --dry-run prints the diff, and run --apply fails with APPLY_FAILED", async () => {
    const root = workspace();
    const before = treeSnapshot(root);
    const dry = await runCliReadOnly(
      root,
      ["run", "-m", "Add a helper", "-f", "src/db.ts", "--dry-run", "--no-verify", "--bounded-answer"],
      { env: env() },
    );
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout.startsWith("diff --git a/src/db.ts b/src/db.ts\n"), dry.stdout.slice(0, 200)).toBe(true);
    const applied = await runCliReadOnly(
      root,
      ["run", "-m", "Add a helper", "-f", "src/db.ts", "--apply", "--no-verify", "--bounded-answer"],
      { env: env() },
    );
    expect(applied.code, applied.stderr).toBe(7);
    expect(errorOf(applied.stderr)).toMatchObject({
      code: "APPLY_FAILED",
      message: expect.stringMatching(/is not writable/),
    });
    expect(treeSnapshot(root)).toEqual(before);
  });
});
