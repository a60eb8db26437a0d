import { mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { realpathSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { WorkspaceEscapeError } from "../errors/errors.js";
import { tempDir } from "../test-support/fixtures.js";
import { appendFileInside, readFileInside, readdirInside, removeFileInside, writeFileInside } from "./safe-fs.js";

function roots(): { root: string; outside: string } {
  const root = realpathSync(tempDir("builder-safe-fs-"));
  const outside = realpathSync(tempDir("builder-outside-"));
  mkdirSync(path.join(root, "sub"));
  writeFileSync(path.join(root, "sub", "a.txt"), "inside\n");
  writeFileSync(path.join(outside, "a.txt"), "OUTSIDE\n");
  return { root, outside };
}

describe("safe-fs: the object checked is the object used", () => {
  it("reads through links that stay inside, and refuses ones that lead out before reading a byte", async () => {
    const { root, outside } = roots();
    symlinkSync("sub", path.join(root, "inner"));
    symlinkSync(outside, path.join(root, "out"));
    expect((await readFileInside(root, "inner/a.txt"))?.content.toString()).toBe("inside\n");
    expect((await readFileInside(root, "inner/a.txt"))?.physical).toBe("sub/a.txt");
    await expect(readFileInside(root, "out/a.txt")).rejects.toBeInstanceOf(WorkspaceEscapeError);
    expect(await readFileInside(root, "sub/missing.txt")).toBeUndefined();
    await expect(readdirInside(root, "out")).rejects.toBeInstanceOf(WorkspaceEscapeError);
    expect((await readdirInside(root, "inner")).map((entry) => entry.name)).toEqual(["a.txt"]);
    expect(await readdirInside(root, "sub/missing")).toEqual([]);
  });

  it("refuses writes, appends and removals through a folder link that leads out, creating nothing there", async () => {
    const { root, outside } = roots();
    symlinkSync(outside, path.join(root, "out"));
    await expect(writeFileInside(root, "out/new/b.txt", "x")).rejects.toBeInstanceOf(WorkspaceEscapeError);
    await expect(writeFileInside(root, "out/a.txt", "x")).rejects.toBeInstanceOf(WorkspaceEscapeError);
    await expect(appendFileInside(root, "out/log.jsonl", Buffer.from("x\n"))).rejects.toBeInstanceOf(
      WorkspaceEscapeError,
    );
    await expect(removeFileInside(root, "out/a.txt")).rejects.toBeInstanceOf(WorkspaceEscapeError);
    expect(readdirSync(outside)).toEqual(["a.txt"]);
    expect(readFileSync(path.join(outside, "a.txt"), "utf8")).toBe("OUTSIDE\n");
  });

  it("creates missing folders one at a time and reports them, parents first", async () => {
    const { root } = roots();
    const written = await writeFileInside(root, "sub/x/y/z.txt", "new\n", { mode: 0o600 });
    expect(written).toEqual({ physical: "sub/x/y/z.txt", createdDirs: ["sub/x", "sub/x/y"] });
    expect(readFileSync(path.join(root, "sub/x/y/z.txt"), "utf8")).toBe("new\n");
    expect((await readFileInside(root, "sub/x/y/z.txt"))?.mode).toBe(0o600);
  });

  it("writes nothing outside when the folder is moved out of the workspace just before the rename", async () => {
    const { root, outside } = roots();
    const error = await writeFileInside(root, "sub/a.txt", "new content\n", {
      beforeRename: () => renameSync(path.join(root, "sub"), path.join(outside, "moved")),
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(WorkspaceEscapeError);
    expect(readdirSync(path.join(outside, "moved"))).toEqual(["a.txt"]);
    expect(readFileSync(path.join(outside, "moved", "a.txt"), "utf8")).toBe("inside\n");
  });
});
