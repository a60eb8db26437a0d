import { existsSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../../task/schema.js";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { tempDir } from "../../test-support/fixtures.js";
import { useSynthesizedModel } from "../../test-support/e2e.js";
import { git, gitRepo, treeSnapshot } from "../../test-support/git-repo.js";

const setup = useSynthesizedModel();
const env = (): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: setup.home, HOME: setup.home });

/** A git repository with a config, some code, and tests kept in __tests__ folders. The fixed seed keeps the random model's answer (and so its non-empty tests) the same on every run. */
function workspace(): string {
  return gitRepo({
    "builder.config.json": JSON.stringify({
      model: setup.modelPath,
      bounded_answer: true,
      knowledge: ["knowledge/project.md"],
      options: { num_ctx: 4096, num_predict: 1024, num_thread: 1, seed: 11 },
    }),
    "knowledge/project.md": "# Project\nStrict TypeScript.\n",
    "src/contact-service.ts":
      'import { query } from "./db.js";\nexport function findContact(id: string): unknown {\n  return query(id);\n}\n',
    "src/db.ts": "export function query(sql: string): unknown {\n  return sql;\n}\n",
    "src/__tests__/db.test.ts": "import { query } from '../db.js';\n",
  });
}

function errorOf(stderr: string): { code: string; message: string } | undefined {
  return jsonLines(stderr).find((line) => typeof line.error === "object" && line.error !== null)?.error as
    { code: string; message: string } | undefined;
}

describe("builder run --dry-run / --apply, builder apply, builder undo", () => {
  it("--dry-run prints only a unified diff, writes nothing, and --explain-context json reports the prompt on stderr", async () => {
    const root = workspace();
    const before = treeSnapshot(root);
    const result = await runCli(
      ["run", "-m", "Add createContact", "-f", "src/contact-service.ts", "--dry-run", "--explain-context", "json"],
      { cwd: root, env: env() },
    );
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.startsWith("diff --git a/src/contact-service.ts b/src/contact-service.ts\n")).toBe(true);
    // The edit replaces one of the file's lines (the random model picks which).
    expect(result.stdout).toMatch(/\n-(import \{ query \}|export function findContact|  return query|\})/);
    expect(result.stdout).toContain(
      "diff --git a/src/__tests__/contact-service.test.ts b/src/__tests__/contact-service.test.ts\nnew file mode 100644",
    );
    expect(treeSnapshot(root)).toEqual(before);
    expect(git(root, "status", "--porcelain")).toBe("");

    const context = jsonLines(result.stderr).find((line) => "context" in line)?.context as {
      parts: Array<{ kind: string; label: string; included: boolean; tokens: number }>;
      exact: boolean;
      fits: boolean;
    };
    expect(context.exact).toBe(true);
    expect(context.fits).toBe(true);
    expect(context.parts.map((p) => p.kind)).toEqual([
      "instructions",
      "knowledge",
      "repo-map",
      "task-file",
      "task-file",
      "related-code",
      "task",
    ]);
    expect(context.parts.every((p) => p.included && p.tokens > 0)).toBe(true);

    const hint = jsonLines(result.stderr).find((line) => typeof line.suggestion === "string");
    const saved = hint?.suggestion as string;
    expect(saved).toMatch(/\.builder\/suggestions\/.*\.json$/);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(readFileSync(saved, "utf8")));
    expect(suggestion.base_hashes?.["src/contact-service.ts"]).toMatch(/^[0-9a-f]{64}$/);
    expect(suggestion.base_hashes?.["src/__tests__/contact-service.test.ts"]).toBeNull();

    // The saved suggestion applies later; a change in between is refused unless --force.
    writeFileSync(path.join(root, "src", "contact-service.ts"), "// edited meanwhile\n");
    const stale = await runCli(["apply", saved], { cwd: root, env: env() });
    expect(stale.code).toBe(7);
    expect(errorOf(stale.stderr)).toMatchObject({ code: "FILE_CHANGED" });
    expect(readFileSync(path.join(root, "src", "contact-service.ts"), "utf8")).toBe("// edited meanwhile\n");
    const forced = await runCli(["apply", saved, "--force"], { cwd: root, env: env() });
    expect(forced.code, forced.stderr).toBe(0);
    const applied = JSON.parse(forced.stdout) as { run_id: string; files: unknown[]; test_path: string };
    expect(applied.files).toEqual([
      { path: "src/contact-service.ts", action: "modify" },
      { path: "src/__tests__/contact-service.test.ts", action: "create" },
    ]);
    expect(readFileSync(path.join(root, "src", "contact-service.ts"), "utf8")).toBe(suggestion.suggested_code);
    const undo = await runCli(["undo", applied.run_id], { cwd: root, env: env() });
    expect(undo.code, undo.stderr).toBe(0);
    expect(readFileSync(path.join(root, "src", "contact-service.ts"), "utf8")).toBe("// edited meanwhile\n");
  });

  it("--apply writes the suggestion and its tests; undo restores the tree byte for byte", async () => {
    const root = workspace();
    const before = treeSnapshot(root);
    const result = await runCli(["run", "-m", "Add createContact", "-f", "src/contact-service.ts", "--apply"], {
      cwd: root,
      env: env(),
    });
    expect(result.code, result.stderr).toBe(0);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(result.stdout));
    expect(readFileSync(path.join(root, "src", "contact-service.ts"), "utf8")).toBe(suggestion.suggested_code);
    expect(readFileSync(path.join(root, "src", "__tests__", "contact-service.test.ts"), "utf8")).toBe(suggestion.tests);
    const applied = jsonLines(result.stderr).find(
      (line) => typeof line.msg === "string" && line.msg.startsWith("applied"),
    );
    expect(applied?.files).toEqual(["modify src/contact-service.ts", "create src/__tests__/contact-service.test.ts"]);

    // Applying it a second time: already applied, nothing written, not "changed on disk".
    const savedDir = path.join(root, ".builder", "suggestions");
    const saved = readdirSync(savedDir).find((name) => name.endsWith(".json")) ?? "";
    const reapply = await runCli(["apply", path.join(savedDir, saved)], { cwd: root, env: env() });
    expect(reapply.code, reapply.stderr).toBe(0);
    expect(reapply.stderr).toContain("already applied");
    expect(reapply.stderr).not.toContain("changed on disk");

    const dry = await runCli(["undo", "--dry-run"], { cwd: root, env: env() });
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("deleted file mode 100644");
    const undo = await runCli(["undo"], { cwd: root, env: env() });
    expect(undo.code, undo.stderr).toBe(0);
    expect(JSON.parse(undo.stdout)).toMatchObject({
      files: [
        { path: "src/contact-service.ts", action: "modify" },
        { path: "src/__tests__/contact-service.test.ts", action: "delete" },
      ],
    });
    expect(treeSnapshot(root)).toEqual(before);
    expect(git(root, "status", "--porcelain")).toBe("");

    const again = await runCli(["undo"], { cwd: root, env: env() });
    expect(again.code).toBe(2);
    expect(errorOf(again.stderr)?.message).toMatch(/Nothing to undo/);
  });

  it("refuses task files and suggestions that escape the workspace, writing nothing", async () => {
    const root = workspace();
    const before = treeSnapshot(root);
    const escape = await runCli(["run", "-m", "x", "-f", "../outside.ts"], { cwd: root, env: env() });
    expect(escape.code).toBe(7);
    expect(escape.stdout).toBe("");
    expect(errorOf(escape.stderr)).toMatchObject({ code: "WORKSPACE_ESCAPE" });
    expect(errorOf(escape.stderr)?.message).toContain('"../outside.ts"');

    const outside = tempDir("builder-outside-");
    const evil = JSON.stringify({ file_path: path.join(outside, "pwned.ts"), suggested_code: "x", tests: "" });
    const viaStdin = await runCli(["apply", "-"], { cwd: root, env: env(), stdin: evil });
    expect(viaStdin.code).toBe(7);
    expect(errorOf(viaStdin.stderr)).toMatchObject({ code: "WORKSPACE_ESCAPE" });
    const hook = await runCli(["apply", "-"], {
      cwd: root,
      env: env(),
      stdin: JSON.stringify({ file_path: ".git/hooks/pre-commit", suggested_code: "rm -rf /" }),
    });
    expect(hook.code).toBe(7);
    expect(errorOf(hook.stderr)).toMatchObject({ code: "PATH_DENIED" });
    expect(treeSnapshot(root)).toEqual(before);

    const ok = await runCli(["apply", "-", "--dry-run"], {
      cwd: root,
      env: env(),
      stdin: JSON.stringify({ file_path: path.join(root, "src", "db.ts"), suggested_code: "export {};\n" }),
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toContain("+++ b/src/db.ts");
    expect(treeSnapshot(root)).toEqual(before);
  });

  it("refuses writes through links to .git, and a .builder link, writing nothing here or outside", async () => {
    const root = workspace();
    symlinkSync(".git", path.join(root, "gitlink"));
    const before = treeSnapshot(root);
    const hook = await runCli(["apply", "-"], {
      cwd: root,
      env: env(),
      stdin: JSON.stringify({ file_path: "gitlink/hooks/pre-commit", suggested_code: "rm -rf /\n" }),
    });
    expect(hook.code).toBe(7);
    expect(errorOf(hook.stderr)).toMatchObject({ code: "PATH_DENIED" });
    expect(errorOf(hook.stderr)?.message).toContain(".git/hooks/pre-commit");
    expect(existsSync(path.join(root, ".git", "hooks", "pre-commit"))).toBe(false);

    const outside = tempDir("builder-outside-");
    symlinkSync(outside, path.join(root, ".builder"));
    const linked = await runCli(["apply", "-"], {
      cwd: root,
      env: env(),
      stdin: JSON.stringify({ file_path: "src/db.ts", suggested_code: "export {};\n" }),
    });
    expect(linked.code).toBe(7);
    expect(errorOf(linked.stderr)).toMatchObject({ code: "WORKSPACE_ESCAPE" });
    expect(readdirSync(outside)).toEqual([]);
    expect(treeSnapshot(root)).toEqual(before);
  });
});
