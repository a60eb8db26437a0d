import { execFileSync } from "node:child_process";
import { existsSync, lstatSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { WorkspaceEscapeError } from "../errors/errors.js";
import { tempDir } from "../test-support/fixtures.js";
import { hashTree, typescriptProject } from "../test-support/ts-project-fixture.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { ScratchCopy } from "./scratch.js";

function worktrees(repo: string): string {
  return execFileSync("git", ["-C", repo, "worktree", "list", "--porcelain"]).toString();
}

describe("ScratchCopy", () => {
  it("with a ref, holds exactly that commit: no uncommitted work, and an unknown ref fails instead of copying the working tree", async () => {
    const repo = typescriptProject({ git: true, files: { "src/v.ts": "export const v = 1;\n" } });
    const first = execFileSync("git", ["-C", repo, "rev-parse", "HEAD"]).toString().trim();
    writeFileSync(path.join(repo, "src/v.ts"), "export const v = 2;\n");
    execFileSync("git", [
      "-C",
      repo,
      "-c",
      "user.name=t",
      "-c",
      "user.email=t@example.invalid",
      "commit",
      "-qam",
      "v2",
    ]);
    writeFileSync(path.join(repo, "src/v.ts"), "// uncommitted\n");
    const copy = await ScratchCopy.create(repo, undefined, { ref: first });
    try {
      expect(readFileSync(copy.absolute("src/v.ts"), "utf8")).toBe("export const v = 1;\n");
    } finally {
      await copy.dispose();
    }
    await expect(ScratchCopy.create(repo, undefined, { ref: "no-such-ref" })).rejects.toThrow();
    expect(worktrees(repo).match(/^worktree /gm)).toHaveLength(1);
  });

  it("uses a git worktree that holds staged, unstaged and untracked work but not ignored files, and removes it", async () => {
    const repo = typescriptProject({ git: true, files: { "src/staged.ts": "export const s = 1;\n" } });
    writeFileSync(path.join(repo, "src/math.ts"), "// unstaged edit\n");
    writeFileSync(path.join(repo, "src/staged.ts"), "export const s = 2;\n");
    execFileSync("git", ["-C", repo, "add", "src/staged.ts"]);
    writeFileSync(path.join(repo, "src/untracked.ts"), "export const u = 1;\n");
    rmSync(path.join(repo, "src/report.ts"));
    writeFileSync(path.join(repo, ".gitignore"), "node_modules\nsecret.txt\n");
    writeFileSync(path.join(repo, "secret.txt"), "ignored\n");
    const before = hashTree(repo);

    const copy = await ScratchCopy.create(repo);
    try {
      expect(copy.kind).toBe("git-worktree");
      const read = (p: string): string => readFileSync(copy.absolute(p), "utf8");
      expect(read("src/math.ts")).toBe("// unstaged edit\n");
      expect(read("src/staged.ts")).toBe("export const s = 2;\n");
      expect(read("src/untracked.ts")).toBe("export const u = 1;\n");
      expect(existsSync(copy.absolute("src/report.ts"))).toBe(false);
      expect(existsSync(copy.absolute("secret.txt"))).toBe(false);
      // node_modules is a real folder of links: tools' caches stay in the copy.
      expect(lstatSync(copy.absolute("node_modules")).isDirectory()).toBe(true);
      expect(lstatSync(copy.absolute("node_modules/typescript")).isSymbolicLink()).toBe(true);

      await copy.applyEdits([
        { path: "src/new.ts", content: "export const n = 1;\n" },
        { path: "src/math.ts", content: "changed\n" },
      ]);
      expect(read("src/new.ts")).toBe("export const n = 1;\n");
      expect(await copy.original("src/math.ts")).toBe("// unstaged edit\n");
      // the next round edits only math.ts: new.ts from the round before is gone again
      await copy.applyEdits([{ path: "src/math.ts", content: "again\n" }]);
      expect(existsSync(copy.absolute("src/new.ts"))).toBe(false);
      expect(read("src/math.ts")).toBe("again\n");
      expect(worktrees(repo)).toContain(path.basename(path.dirname(copy.root)));
    } finally {
      await copy.dispose();
    }
    expect(existsSync(copy.root)).toBe(false);
    expect(worktrees(repo).match(/^worktree /gm)).toHaveLength(1);
    expect(hashTree(repo)).toEqual(before);
    expect(existsSync(path.join(repo, "node_modules", "typescript"))).toBe(true);
  });

  it("maps a workspace inside a larger repository to the same folder in the worktree", async () => {
    const repo = typescriptProject({ git: false, files: { "packages/app/src/a.ts": "export const a = 1;\n" } });
    execFileSync("git", ["-C", repo, "init", "-q"]);
    execFileSync("git", ["-C", repo, "add", "-A"]);
    execFileSync("git", ["-C", repo, "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "x"]);
    const copy = await ScratchCopy.create(path.join(repo, "packages/app"));
    try {
      expect(copy.kind).toBe("git-worktree");
      expect(readFileSync(copy.absolute("src/a.ts"), "utf8")).toBe("export const a = 1;\n");
      // the repository root's node_modules is shared too
      expect(existsSync(path.join(copy.root, "..", "..", "node_modules", "vitest"))).toBe(true);
    } finally {
      await copy.dispose();
    }
    expect(worktrees(repo).match(/^worktree /gm)).toHaveLength(1);
  });

  it("copies a workspace that is not a git repository, skipping node_modules, .git, .builder and dist", async () => {
    const dir = typescriptProject({ files: { "dist/out.js": "x", ".builder/metrics.jsonl": "{}\n", "notes.md": "n" } });
    const copy = await ScratchCopy.create(dir);
    try {
      expect(copy.kind).toBe("copy");
      expect(existsSync(copy.absolute("notes.md"))).toBe(true);
      expect(existsSync(copy.absolute("dist"))).toBe(false);
      expect(existsSync(copy.absolute(".builder"))).toBe(false);
      expect(lstatSync(copy.absolute("node_modules")).isDirectory()).toBe(true);
    } finally {
      await copy.dispose();
    }
    expect(existsSync(copy.root)).toBe(false);
  });

  it("refuses edits that escape the copy: .., symlinked folders leading outside, node_modules", async () => {
    const outside = tempDir("builder-outside-");
    const dir = typescriptProject({});
    symlinkSync(outside, path.join(dir, "src", "linked"));
    const copy = await ScratchCopy.create(dir);
    try {
      await expect(copy.applyEdits([{ path: "../escape.ts", content: "x" }])).rejects.toThrow(WorkspaceEscapeError);
      await expect(copy.applyEdits([{ path: "src/linked/evil.ts", content: "x" }])).rejects.toThrow(
        /symlink that leaves the workspace/,
      );
      await expect(copy.applyEdits([{ path: "node_modules/typescript/evil.js", content: "x" }])).rejects.toThrow(
        WorkspaceEscapeError,
      );
    } finally {
      await copy.dispose();
    }
    expect(existsSync(path.join(outside, "evil.ts"))).toBe(false);
    expect(existsSync(path.join(dir, "node_modules", "typescript", "evil.js"))).toBe(false);
  });

  it("refuses exactly the writes apply refuses (deny list, protected folders, any case)", async () => {
    const root = typescriptProject();
    const sandbox = await WorkspaceSandbox.open({ root });
    const copy = await ScratchCopy.create(root);
    const paths = [
      "src/ok.ts",
      "build/out.ts",
      "coverage/notes.ts",
      ".GIT/config",
      "Node_Modules/x/index.js",
      ".env.local",
      "src/dist/a.ts",
    ];
    try {
      const refusedBy = async (write: () => Promise<unknown>): Promise<boolean> =>
        write().then(
          () => false,
          () => true,
        );
      const verdicts = [];
      for (const file of paths) {
        verdicts.push({
          file,
          scratch: await refusedBy(() => copy.applyEdits([{ path: file, content: "x\n" }])),
          apply: await refusedBy(() => sandbox.resolveForWrite(file)),
        });
      }
      expect(verdicts.filter((v) => v.scratch !== v.apply)).toEqual([]);
      expect(verdicts.filter((v) => v.apply).map((v) => v.file)).toEqual(
        paths.filter((p) => !/^(src\/ok|coverage)/.test(p)),
      );
    } finally {
      await copy.dispose();
    }
  });
});
