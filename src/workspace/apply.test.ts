import { chmodSync, existsSync, readFileSync, readdirSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ApplyError, FileChangedError, PathDeniedError, UsageError, WorkspaceEscapeError } from "../errors/errors.js";
import { git, gitRepo, treeSnapshot } from "../test-support/git-repo.js";
import { applyEdits } from "./apply.js";
import { readManifest } from "./backups.js";
import { sha256 } from "./file-state.js";
import { WorkspaceSandbox } from "./sandbox.js";
import { undoRun } from "./undo.js";

const FILES = {
  "src/a.ts": "export const a = 1;\n",
  "src/b.ts": "export const b = 2;\n",
  "README.md": "# repo\n",
};

async function repo(): Promise<{ root: string; sandbox: WorkspaceSandbox }> {
  const root = gitRepo(FILES);
  chmodSync(path.join(root, "src", "b.ts"), 0o755);
  git(root, "commit", "-qam", "executable b");
  return { root, sandbox: await WorkspaceSandbox.open({ root }) };
}

const read = (root: string, file: string): string => readFileSync(path.join(root, file), "utf8");

describe("applyEdits and undoRun on a real git repository", () => {
  it("round-trips: apply modifies and creates (in new folders), undo leaves the tree byte-identical", async () => {
    const { root, sandbox } = await repo();
    const before = treeSnapshot(root);
    const result = await applyEdits(
      [
        { kind: "write", path: "src/a.ts", content: "export const a = 42;\n", expected: sha256(FILES["src/a.ts"]) },
        { kind: "write", path: "src/b.ts", content: "export const b = 3;\n" },
        { kind: "write", path: "src/new/deep/c.ts", content: "export const c = 3;\n", expected: null },
      ],
      { sandbox, runId: "run-1" },
    );
    expect(result.files).toEqual([
      { path: "src/a.ts", action: "modify" },
      { path: "src/b.ts", action: "modify" },
      { path: "src/new/deep/c.ts", action: "create" },
    ]);
    expect(read(root, "src/a.ts")).toBe("export const a = 42;\n");
    expect(read(root, "src/new/deep/c.ts")).toBe("export const c = 3;\n");
    expect(statSync(path.join(root, "src", "b.ts")).mode & 0o777, "the mode is kept").toBe(0o755);
    expect(readFileSync(path.join(root, ".builder", "backups", "run-1", "files", "src", "a.ts"), "utf8")).toBe(
      FILES["src/a.ts"],
    );
    const manifest = await readManifest(sandbox, "run-1");
    expect(manifest).toMatchObject({ status: "applied", created_dirs: ["src/new", "src/new/deep"] });
    expect(git(root, "status", "--porcelain")).toContain("src/new/");

    const undone = await undoRun({ sandbox });
    expect(undone.runId).toBe("run-1");
    expect(treeSnapshot(root)).toEqual(before);
    expect(git(root, "status", "--porcelain"), ".builder/ ignores itself").toBe("");
    expect((await readManifest(sandbox, "run-1")).status).toBe("undone");

    // The undo is itself a run: undoing it redoes the change.
    await undoRun({ sandbox, runId: undone.undoRunId });
    expect(read(root, "src/a.ts")).toBe("export const a = 42;\n");
    expect(read(root, "src/new/deep/c.ts")).toBe("export const c = 3;\n");
  });

  it("dry-run returns a diff and writes nothing, not even backups", async () => {
    const { root, sandbox } = await repo();
    const before = treeSnapshot(root);
    const result = await applyEdits([{ kind: "write", path: "src/a.ts", content: "export const a = 2;\n" }], {
      sandbox,
      runId: "dry",
      dryRun: true,
    });
    expect(result.diff).toContain("-export const a = 1;\n+export const a = 2;");
    expect(result.backupDir).toBeUndefined();
    expect(treeSnapshot(root)).toEqual(before);
    expect(existsSync(path.join(root, ".builder"))).toBe(false);
  });

  it("refuses a file that changed since the prompt was built, unless forced", async () => {
    const { root, sandbox } = await repo();
    const promptHash = sha256(FILES["src/a.ts"]);
    writeFileSync(path.join(root, "src", "a.ts"), "export const a = 'edited by a human';\n");
    const edits = [
      { kind: "write" as const, path: "src/a.ts", content: "export const a = 9;\n", expected: promptHash },
    ];
    const error = await applyEdits(edits, { sandbox, runId: "stale" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileChangedError);
    expect((error as FileChangedError).message).toMatch(/src\/a\.ts changed on disk.*--force/);
    expect(read(root, "src/a.ts")).toBe("export const a = 'edited by a human';\n");
    expect(existsSync(path.join(root, ".builder", "backups", "stale"))).toBe(false);

    const created = await applyEdits([{ kind: "write", path: "src/b.ts", content: "x", expected: null }], {
      sandbox,
      runId: "stale-new",
    }).catch((e: unknown) => e);
    expect(created, "a file expected to be new that exists is stale too").toBeInstanceOf(FileChangedError);

    const forced = await applyEdits(edits, { sandbox, runId: "forced", force: true });
    expect(forced.stale).toEqual(["src/a.ts"]);
    expect(read(root, "src/a.ts")).toBe("export const a = 9;\n");
    await undoRun({ sandbox, runId: "forced" });
    expect(read(root, "src/a.ts"), "the human's edit is what the backup holds").toBe(
      "export const a = 'edited by a human';\n",
    );
  });

  it("refuses paths outside the workspace or on the deny list before writing anything", async () => {
    const { root, sandbox } = await repo();
    const before = treeSnapshot(root);
    await expect(
      applyEdits(
        [
          { kind: "write", path: "src/a.ts", content: "x" },
          { kind: "write", path: "../evil.ts", content: "x" },
        ],
        { sandbox, runId: "esc" },
      ),
    ).rejects.toBeInstanceOf(WorkspaceEscapeError);
    await expect(
      applyEdits([{ kind: "write", path: ".env", content: "x" }], { sandbox, runId: "env" }),
    ).rejects.toBeInstanceOf(PathDeniedError);
    await expect(
      applyEdits([{ kind: "write", path: ".git/hooks/post-checkout", content: "x" }], { sandbox, runId: "hook" }),
    ).rejects.toBeInstanceOf(PathDeniedError);
    symlinkSync(path.join(root, "src", "a.ts"), path.join(root, "src", "alias.ts"));
    await expect(
      applyEdits([{ kind: "write", path: "src/alias.ts", content: "x" }], { sandbox, runId: "link" }),
    ).rejects.toBeInstanceOf(ApplyError);
    await expect(
      applyEdits(
        [
          { kind: "write", path: "src/a.ts", content: "x" },
          { kind: "write", path: "./src/a.ts", content: "y" },
        ],
        { sandbox, runId: "dup" },
      ),
    ).rejects.toThrow(/same file/);
    const after = treeSnapshot(root);
    delete after["src/alias.ts"];
    expect(after).toEqual(before);
  });

  it("rolls back the files already written when a later write fails", async () => {
    const { root, sandbox } = await repo();
    const before = treeSnapshot(root);
    const edits = [
      { kind: "write" as const, path: "src/a.ts", content: "new a\n" },
      { kind: "write" as const, path: "src/made/c.ts", content: "new c\n" },
      { kind: "write" as const, path: "src/b.ts", content: "new b\n" },
    ];
    const error = await applyEdits(edits, {
      sandbox,
      runId: "boom",
      hooks: {
        beforeRename: (file) => {
          if (file === "src/b.ts") throw new Error("disk full (injected)");
        },
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApplyError);
    expect((error as Error).message).toMatch(
      /Writing src\/b\.ts failed \(disk full \(injected\)\); the files already written were restored/,
    );
    expect(treeSnapshot(root)).toEqual(before);
    expect(existsSync(path.join(root, ".builder", "backups", "boom")), "nothing changed, so no backups are kept").toBe(
      false,
    );
    await expect(undoRun({ sandbox, runId: "boom" })).rejects.toBeInstanceOf(UsageError);
  });

  it("undo refuses files changed after the run, and --force restores them with their content backed up", async () => {
    const { root, sandbox } = await repo();
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "by builder\n" }], { sandbox, runId: "r1" });
    writeFileSync(path.join(root, "src", "a.ts"), "then by a human\n");
    await expect(undoRun({ sandbox })).rejects.toBeInstanceOf(FileChangedError);
    expect(read(root, "src/a.ts")).toBe("then by a human\n");
    const forced = await undoRun({ sandbox, force: true });
    expect(read(root, "src/a.ts")).toBe(FILES["src/a.ts"]);
    const undoBackup = path.join(root, ".builder", "backups", forced.undoRunId ?? "", "files", "src", "a.ts");
    expect(readFileSync(undoBackup, "utf8")).toBe("then by a human\n");
    await expect(undoRun({ sandbox, runId: "r1" })).rejects.toThrow(/already undone/);
  });

  it("undo without a run id picks the newest applied run; with none it says so", async () => {
    const { root, sandbox } = await repo();
    await expect(undoRun({ sandbox })).rejects.toThrow(/Nothing to undo/);
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "first\n" }], {
      sandbox,
      runId: "20250101T000000-aaaaaa",
    });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "second\n" }], {
      sandbox,
      runId: "20250101T000000-bbbbbb",
    });
    expect((await undoRun({ sandbox })).runId).toBe("20250101T000000-bbbbbb");
    expect(read(root, "src/a.ts")).toBe("first\n");
    expect((await undoRun({ sandbox })).runId).toBe("20250101T000000-aaaaaa");
    expect(read(root, "src/a.ts")).toBe(FILES["src/a.ts"]);
    await expect(undoRun({ sandbox, runId: "../../etc" })).rejects.toThrow(/not a run id/);
    expect(readdirSync(path.join(root, ".builder", "backups")).length).toBe(4);
  });
});
