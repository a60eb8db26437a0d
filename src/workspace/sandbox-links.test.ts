import { existsSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PathDeniedError } from "../errors/errors.js";
import { gitRepo } from "../test-support/git-repo.js";
import { applyEdits } from "./apply.js";
import { WorkspaceSandbox } from "./sandbox.js";

/** Links inside the workspace that lead to protected or deny-listed paths: judged by where they lead, not by their name. */
describe("WorkspaceSandbox: links to protected and deny-listed paths", () => {
  it("refuses writes through a folder link to .git or .builder, naming the typed and the real path", async () => {
    const root = gitRepo({ "src/a.ts": "export const a = 1;\n" });
    symlinkSync(".git", path.join(root, "gitlink"));
    symlinkSync(path.join(root, ".git", "hooks"), path.join(root, "src", "hooks"));
    const sandbox = await WorkspaceSandbox.open({ root });
    for (const input of ["gitlink/hooks/pre-commit", "gitlink/config", "src/hooks/post-checkout"]) {
      const error = await sandbox.resolveForWrite(input).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, input).toBeInstanceOf(PathDeniedError);
      expect((error as Error).message).toContain(JSON.stringify(input));
      expect((error as Error).message).toContain(".git/");
    }
    await expect(
      applyEdits([{ kind: "write", path: "gitlink/hooks/pre-commit", content: "#!/bin/sh\nrm -rf /\n" }], {
        sandbox,
        runId: "hook",
      }),
    ).rejects.toBeInstanceOf(PathDeniedError);
    expect(existsSync(path.join(root, ".git", "hooks", "pre-commit"))).toBe(false);
  });

  it("refuses writes through a link whose target is deny-listed, and withholds it from the model", async () => {
    const root = gitRepo({
      ".env": "SECRET=hunter2\n",
      "config/server.pem": "KEY\n",
      "src/a.ts": "export const a = 1;\n",
    });
    symlinkSync(".env", path.join(root, "notes.txt"));
    symlinkSync("config", path.join(root, "settings"));
    const sandbox = await WorkspaceSandbox.open({ root });
    await expect(sandbox.resolveForWrite("notes.txt")).rejects.toThrow(/notes\.txt.*leads to \.env.*\.env\*/);
    await expect(sandbox.resolveForWrite("settings/server.pem")).rejects.toBeInstanceOf(PathDeniedError);
    expect((await sandbox.resolveForModel("notes.txt")).excluded).toMatchObject({ by: "deny", pattern: ".env*" });
    expect((await sandbox.resolveForModel("settings/server.pem")).excluded).toMatchObject({
      by: "deny",
      pattern: "*.pem",
    });
    expect(readFileSync(path.join(root, ".env"), "utf8")).toBe("SECRET=hunter2\n");
  });

  it("withholds a link to a .gitignored file from the model", async () => {
    const root = gitRepo({ ".gitignore": "secrets/\n", "src/a.ts": "export const a = 1;\n" });
    symlinkSync(path.join("..", "secrets", "token.txt"), path.join(root, "src", "token.txt"));
    const sandbox = await WorkspaceSandbox.open({ root });
    expect((await sandbox.resolveForModel("src/token.txt")).excluded).toMatchObject({
      by: "gitignore",
      pattern: "secrets/",
    });
  });

  it("still allows links that lead to ordinary files inside the workspace", async () => {
    const root = gitRepo({ "src/nested/b.ts": "export const b = 2;\n" });
    symlinkSync(path.join("src", "nested"), path.join(root, "inner"));
    const sandbox = await WorkspaceSandbox.open({ root });
    expect(await sandbox.resolveForWrite("inner/b.ts")).toEqual({
      relative: "inner/b.ts",
      absolute: path.join(root, "inner", "b.ts"),
    });
    expect((await sandbox.resolveForModel("inner/b.ts")).excluded).toBeUndefined();
  });
});
