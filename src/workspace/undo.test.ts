import { createHmac } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BackupUntrustedError, WorkspaceEscapeError } from "../errors/errors.js";
import { tempDir } from "../test-support/fixtures.js";
import { git, gitRepo, treeSnapshot } from "../test-support/git-repo.js";
import { applyEdits } from "./apply.js";
import { WorkspaceSandbox } from "./sandbox.js";
import { undoRun } from "./undo.js";

const FILES = { "src/a.ts": "export const a = 1;\n", "README.md": "# repo\n" };
const read = (root: string, file: string): string => readFileSync(path.join(root, file), "utf8");

/** A folder outside the workspace with a file and a folder that a hostile manifest names. */
function victim(): { dir: string; file: string; folder: string } {
  const dir = tempDir("builder-victim-");
  writeFileSync(path.join(dir, "precious.txt"), "do not delete\n");
  mkdirSync(path.join(dir, "empty-folder"));
  return { dir, file: path.join(dir, "precious.txt"), folder: path.join(dir, "empty-folder") };
}

/** Writes `.builder/backups/<runId>/manifest.json` as a cloned repository could ship it, dated in the future. */
function plantManifest(root: string, runId: string, outside: { file: string; folder: string }): string {
  const dir = path.join(root, ".builder", "backups", runId);
  mkdirSync(dir, { recursive: true });
  const relativeOut = (p: string): string => path.relative(root, p).split(path.sep).join("/");
  const manifest = {
    version: 1,
    run_id: runId,
    source: "apply",
    status: "applied",
    created_at: "2099-01-01T00:00:00.000Z",
    updated_at: "2099-01-01T00:00:00.000Z",
    created_dirs: [relativeOut(outside.folder), outside.folder],
    entries: [
      {
        path: "ghost.ts",
        action: "create",
        before: null,
        after: { sha256: "0".repeat(64) },
        temp: relativeOut(outside.file),
      },
    ],
  };
  const file = path.join(dir, "manifest.json");
  writeFileSync(file, JSON.stringify(manifest, null, 2) + "\n");
  return file;
}

function expectVictimIntact(outside: { file: string; folder: string }): void {
  expect(read(path.dirname(outside.file), "precious.txt")).toBe("do not delete\n");
  expect(statSync(outside.folder).isDirectory()).toBe(true);
}

describe("undo trusts only manifests this workspace's Builder wrote", () => {
  it("a manifest committed in a cloned repository is refused by name, never the default target, and nothing outside is deleted", async () => {
    const root = gitRepo(FILES);
    const sandbox = await WorkspaceSandbox.open({ root });
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "changed\n" }], {
      sandbox,
      runId: "20250101T000000-aaaaaa",
    });
    const outside = victim();
    plantManifest(root, "20990101T000000-evil00", outside);

    const undone = await undoRun({ sandbox });
    expect(undone.runId, "the future-dated foreign manifest is not the default").toBe("20250101T000000-aaaaaa");
    expect(read(root, "src/a.ts")).toBe(FILES["src/a.ts"]);
    expectVictimIntact(outside);

    const named = await undoRun({ sandbox, runId: "20990101T000000-evil00" }).catch((e: unknown) => e);
    expect(named).toBeInstanceOf(BackupUntrustedError);
    expect((named as Error).message).toMatch(/not written by Builder in this workspace/);
    expectVictimIntact(outside);
    expect(read(root, "README.md")).toBe(FILES["README.md"]);
  });

  it("a fresh clone with only a foreign manifest has nothing to undo", async () => {
    const root = gitRepo(FILES);
    const outside = victim();
    plantManifest(root, "20990101T000000-evil00", outside);
    git(root, "add", "-f", ".builder");
    git(root, "commit", "-qm", "ship a hostile manifest");
    const clone = tempDir("builder-clone-");
    git(clone, "clone", "-q", root, ".");
    const sandbox = await WorkspaceSandbox.open({ root: clone });
    await expect(undoRun({ sandbox })).rejects.toThrow(/Nothing to undo.*1 manifest.*refused/s);
    expectVictimIntact(outside);
  });

  it("a manifest edited after Builder signed it is refused", async () => {
    const root = gitRepo(FILES);
    const sandbox = await WorkspaceSandbox.open({ root });
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "changed\n" }], { sandbox, runId: "r1" });
    const file = path.join(root, ".builder", "backups", "r1", "manifest.json");
    writeFileSync(
      file,
      read(root, ".builder/backups/r1/manifest.json").replace('"created_dirs": []', '"created_dirs": ["../.."]'),
    );
    await expect(undoRun({ sandbox, runId: "r1" })).rejects.toBeInstanceOf(BackupUntrustedError);
    expect(read(root, "src/a.ts")).toBe("changed\n");
  });

  it("even a correctly signed manifest naming paths outside the workspace is refused before anything is touched", async () => {
    const root = gitRepo(FILES);
    const sandbox = await WorkspaceSandbox.open({ root });
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "changed\n" }], { sandbox, runId: "r1" });
    const outside = victim();
    const file = plantManifest(root, "r2", outside);
    // Sign it with the workspace's own key, as if the key had leaked: the path checks still hold.
    const key = readFileSync(path.join(root, ".builder", "manifest-key.secret"));
    writeFileSync(
      path.join(path.dirname(file), "manifest.hmac"),
      createHmac("sha256", key).update(readFileSync(file)).digest("hex") + "\n",
    );
    const error = await undoRun({ sandbox, runId: "r2" }).catch((e: unknown) => e);
    expect(error instanceof WorkspaceEscapeError || error instanceof BackupUntrustedError, String(error)).toBe(true);
    expectVictimIntact(outside);
  });

  it("the key is private to this machine: mode 0600 and ignored by git", async () => {
    const root = gitRepo(FILES);
    const sandbox = await WorkspaceSandbox.open({ root });
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "changed\n" }], { sandbox, runId: "r1" });
    expect(statSync(path.join(root, ".builder", "manifest-key.secret")).mode & 0o777).toBe(0o600);
    git(root, "add", "-A");
    expect(git(root, "status", "--porcelain")).not.toContain(".builder");
  });

  it("a .builder/.gitignore that came with the repository and does not ignore everything still gets the key ignored", async () => {
    const root = gitRepo({ ...FILES, ".builder/.gitignore": "cache/\n" });
    const sandbox = await WorkspaceSandbox.open({ root });
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "changed\n" }], { sandbox, runId: "r1" });
    expect(git(root, "status", "--porcelain", "--untracked-files=all")).not.toContain("manifest-key.secret");
  });
});

describe("undo after a redo, and rolled-back applies", () => {
  it("after a redo (builder undo <undo-id>), a plain undo undoes the redo", async () => {
    const root = gitRepo(FILES);
    const sandbox = await WorkspaceSandbox.open({ root });
    const before = treeSnapshot(root);
    await applyEdits([{ kind: "write", path: "src/a.ts", content: "changed\n" }], {
      sandbox,
      runId: "20250101T000000-aaaaaa",
    });
    const undo = await undoRun({ sandbox });
    const redo = await undoRun({ sandbox, runId: undo.undoRunId });
    expect(read(root, "src/a.ts")).toBe("changed\n");
    const again = await undoRun({ sandbox });
    expect(again.runId).toBe(redo.undoRunId);
    expect(treeSnapshot(root)).toEqual(before);
    await expect(undoRun({ sandbox }), "the change is undone; an undo is no default target").rejects.toThrow(
      /Nothing to undo/,
    );
  });

  it("a rolled-back apply that changed nothing leaves no backup folder behind", async () => {
    const root = gitRepo(FILES);
    const sandbox = await WorkspaceSandbox.open({ root });
    const before = treeSnapshot(root);
    const error = await applyEdits(
      [
        { kind: "write", path: "src/a.ts", content: "new a\n" },
        { kind: "write", path: "README.md", content: "new readme\n" },
      ],
      {
        sandbox,
        runId: "boom",
        hooks: {
          beforeRename: (file) => {
            if (file === "README.md") throw new Error("disk full (injected)");
          },
        },
      },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/restored, so nothing changed/);
    expect(treeSnapshot(root)).toEqual(before);
    expect(existsSync(path.join(root, ".builder", "backups", "boom"))).toBe(false);
    expect(readdirSync(path.join(root, ".builder", "backups"))).toEqual([]);
  });
});
