import { mkdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { pino } from "pino";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  ConfigError,
  PathDeniedError,
  PathTooLongError,
  WorkspaceEscapeError,
  toBuilderError,
} from "../errors/errors.js";
import { applyEdits } from "./apply.js";
import { gitRepo } from "../test-support/git-repo.js";
import { tempDir } from "../test-support/fixtures.js";
import { WorkspaceSandbox } from "./sandbox.js";

let root: string;
let outside: string;
let sandbox: WorkspaceSandbox;

beforeAll(async () => {
  outside = tempDir("builder-outside-");
  writeFileSync(path.join(outside, "secret.txt"), "top secret\n");
  root = gitRepo({
    "src/a.ts": "export const a = 1;\n",
    "src/nested/b.ts": "export const b = 2;\n",
    ".env": "TOKEN=x\n",
  });
  symlinkSync(outside, path.join(root, "linked-out"));
  symlinkSync(path.join(outside, "secret.txt"), path.join(root, "src", "secret-link.ts"));
  symlinkSync(path.join(outside, "does-not-exist-yet.ts"), path.join(root, "src", "dangling.ts"));
  symlinkSync(path.join(root, "src", "nested"), path.join(root, "inner-link"));
  symlinkSync("linked-out", path.join(root, "chain"));
  sandbox = await WorkspaceSandbox.open({ root });
});

async function escape(input: string): Promise<WorkspaceEscapeError> {
  const error = await sandbox.resolveInside(input).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, input).toBeInstanceOf(WorkspaceEscapeError);
  return error as WorkspaceEscapeError;
}

describe("WorkspaceSandbox in a real git repository", () => {
  it("resolves workspace-relative and absolute paths inside, existing or new", async () => {
    expect(await sandbox.resolveInside("src/a.ts")).toEqual({
      relative: "src/a.ts",
      absolute: path.join(root, "src", "a.ts"),
    });
    expect((await sandbox.resolveInside(path.join(root, "src", "new", "c.ts"))).relative).toBe("src/new/c.ts");
    expect((await sandbox.resolveInside("src\\nested\\b.ts")).relative).toBe("src/nested/b.ts");
  });

  it("refuses relative and absolute escapes with an error that names the path", async () => {
    const error = await escape("../x.ts");
    expect(error.message).toContain('"../x.ts"');
    expect(error.details).toMatchObject({ path: "../x.ts" });
    await escape(path.join(outside, "secret.txt"));
    await escape(`${root}-evil/a.ts`);
    await escape("D:\\proj\\a.ts");
    await escape("src/a.ts\0");
  });

  it("refuses symbolic links that lead outside: folders, files, dangling links and chains", async () => {
    expect((await escape("linked-out/secret.txt")).message).toContain("symbolic link");
    await escape("linked-out/new-file.ts");
    await escape("src/secret-link.ts");
    await escape("src/dangling.ts");
    await escape("chain/secret.txt");
    await escape("linked-out");
  });

  it("allows links that stay inside the workspace", async () => {
    expect((await sandbox.resolveInside("inner-link/b.ts")).relative).toBe("inner-link/b.ts");
  });

  it("refuses case tricks on a case-sensitive file system", async () => {
    const upper = path.join(path.dirname(root), path.basename(root).toUpperCase());
    await escape(path.join(upper, "src", "a.ts"));
  });

  it("accepts the workspace's real path when the root was given through a link", async () => {
    const viaLink = path.join(tempDir("builder-via-"), "ws");
    symlinkSync(root, viaLink);
    const linked = await WorkspaceSandbox.open({ root: viaLink });
    expect((await linked.resolveInside(path.join(realpathSync(root), "src", "a.ts"))).relative).toBe("src/a.ts");
    expect((await linked.resolveInside("src/a.ts")).absolute).toBe(path.join(viaLink, "src", "a.ts"));
  });

  it("refuses writes to deny-listed paths and to .git / .builder, whatever their case", async () => {
    for (const input of [
      ".env",
      ".ENV.local",
      "config/server.pem",
      "keys/id_rsa",
      "node_modules/x/index.js",
      "dist/a.js",
      "sub/.env.production",
    ]) {
      await expect(sandbox.resolveForWrite(input), input).rejects.toBeInstanceOf(PathDeniedError);
    }
    for (const input of [
      ".git/hooks/pre-commit",
      ".GIT/config",
      ".Git./hooks/x",
      "vendor/lib/.git/config",
      ".builder/backups/x/manifest.json",
      ".git",
    ]) {
      await expect(sandbox.resolveForWrite(input), input).rejects.toThrow(/never writes|deny list/);
    }
    const denied = (await sandbox.resolveForWrite(".env").catch((e: unknown) => e)) as PathDeniedError;
    expect(denied.message).toContain('"!.env*"');
    expect((await sandbox.resolveForWrite("src/env.ts")).relative).toBe("src/env.ts");
  });

  it("lets the config lift a default deny pattern with !pattern", async () => {
    const custom = await WorkspaceSandbox.open({ root, deny: ["!build", "*.secret"] });
    expect((await custom.resolveForWrite("build/gen.ts")).relative).toBe("build/gen.ts");
    await expect(custom.resolveForWrite("src/x.secret")).rejects.toBeInstanceOf(PathDeniedError);
  });

  it("fails clearly when the workspace does not exist", async () => {
    await expect(WorkspaceSandbox.open({ root: path.join(outside, "missing") })).rejects.toBeInstanceOf(ConfigError);
    const file = path.join(outside, "secret.txt");
    await expect(WorkspaceSandbox.open({ root: file })).rejects.toThrow(/not a readable folder/);
    mkdirSync(path.join(outside, "empty"), { recursive: true });
    await expect(WorkspaceSandbox.open({ root: path.join(outside, "empty") })).resolves.toBeInstanceOf(
      WorkspaceSandbox,
    );
  });
});

describe("WorkspaceSandbox: over-long paths", () => {
  it("refuses a name over 255 bytes and a path over PATH_MAX for reads and writes, before touching the disk", async () => {
    const long = await WorkspaceSandbox.open({ root: gitRepo({ "src/a.ts": "export const a = 1;\n" }) });
    const name = `src/${"é".repeat(128)}.ts`; // 259 bytes in UTF-8, 131 characters
    await expect(long.resolveForWrite(name)).rejects.toBeInstanceOf(PathTooLongError);
    await expect(long.resolveForModel(name)).rejects.toThrow(/259 bytes.*at most 255 bytes per name/);
    await expect(
      applyEdits([{ kind: "write", path: name, content: "x" }], { sandbox: long, runId: "long" }),
    ).rejects.toMatchObject({ code: "PATH_DENIED" });
    const deep = Array.from({ length: 50 }, () => "d".repeat(100)).join("/");
    await expect(long.resolveForWrite(`${deep}/a.ts`)).rejects.toThrow(/bytes per path/);
    expect(long.relative(`src/${"n".repeat(255)}`)).toBe(`src/${"n".repeat(255)}`);
    // A name at the limit is written: its temp file's name must not exceed the limit either.
    const atLimit = `src/${"m".repeat(252)}.ts`;
    await applyEdits([{ kind: "write", path: atLimit, content: "export {};\n" }], {
      sandbox: long,
      runId: "at-limit",
      logger: pino({ level: "silent" }),
    });
    expect(readFileSync(path.join(long.root, atLimit), "utf8")).toBe("export {};\n");
  });

  it("reports an ENAMETOOLONG that reaches the file system as PATH_DENIED naming the path, not INTERNAL", () => {
    const error = toBuilderError(
      Object.assign(new Error("ENAMETOOLONG: name too long"), { code: "ENAMETOOLONG", path: "/tmp/x/yyyy" }),
    );
    expect(error).toBeInstanceOf(PathTooLongError);
    expect(error.code).toBe("PATH_DENIED");
    expect(error.message).toContain("/tmp/x/yyyy");
  });
});
