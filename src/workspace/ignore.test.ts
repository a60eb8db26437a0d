import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { gitRepo } from "../test-support/git-repo.js";
import { writeFiles } from "../test-support/fixtures.js";
import { PathFilter, inProtectedDir } from "./ignore.js";
import { listWorkspaceFiles } from "./list-files.js";
import { WorkspaceSandbox } from "./sandbox.js";

const FILES: Record<string, string> = {
  ".gitignore": ["*.log", "/generated/", "tmp/", "!keep.log", "docs/**/*.draft.md", "secret-*", ""].join("\n"),
  "src/.gitignore": ["local/", "*.snap", "!important.snap", ""].join("\n"),
  "src/a.ts": "a",
  "src/b.log": "b",
  "src/keep.log": "keep",
  "src/x.snap": "snap",
  "src/important.snap": "snap",
  "src/local/config.ts": "c",
  "src/deep/tmp/cache.ts": "t",
  "src/deep/generated/not-root.ts": "g",
  "generated/out.ts": "g",
  "tmp/x.ts": "t",
  "docs/guide/intro.draft.md": "d",
  "docs/guide/intro.md": "d",
  "secret-plan.md": "s",
  "lib/secret-keys/k.ts": "k",
  "excluded-by-info.ts": "i",
  "README.md": "r",
};

/** What git itself says is ignored, for each path. */
function gitIgnored(root: string, paths: readonly string[]): Set<string> {
  let out: string;
  try {
    out = execFileSync("git", ["check-ignore", "--no-index", ...paths], { cwd: root, encoding: "utf8" });
  } catch (error) {
    out = (error as { stdout?: string }).stdout ?? "";
  }
  return new Set(out.split("\n").filter(Boolean));
}

describe("PathFilter", () => {
  it("agrees with git check-ignore on nested .gitignore files, negations, anchors and info/exclude", async () => {
    const root = gitRepo(FILES);
    writeFiles(root, { ".git/info/exclude": "excluded-by-info.ts\n" });
    const filter = await PathFilter.load(root);
    const paths = Object.keys(FILES);
    const expected = gitIgnored(root, paths);
    expect(expected.size, "the fixture must ignore something").toBeGreaterThan(5);
    for (const file of paths) {
      const excluded = await filter.excluded(file);
      expect(excluded?.by === "gitignore", `${file}: git says ${expected.has(file) ? "ignored" : "not ignored"}`).toBe(
        expected.has(file),
      );
    }
  });

  it("lists only files git would not ignore and the deny list allows, without entering ignored folders", async () => {
    const root = gitRepo({ ...FILES, ".env": "K=v", "node_modules/pkg/index.js": "x", "src/server.key": "k" });
    writeFiles(root, { ".git/info/exclude": "excluded-by-info.ts\n" });
    const sandbox = await WorkspaceSandbox.open({ root });
    const listed = (await listWorkspaceFiles(sandbox)).files.map((f) => f.path);
    const lsFiles = (...args: string[]): string[] =>
      execFileSync("git", ["ls-files", ...args], { cwd: root, encoding: "utf8" })
        .split("\n")
        .filter(Boolean);
    // Tracked files matching an ignore rule (excluded-by-info.ts) are kept from the model too, unlike in git.
    const trackedButIgnored = new Set(lsFiles("--cached", "--ignored", "--exclude-standard"));
    const visible = lsFiles("--cached", "--others", "--exclude-standard").filter((f) => !trackedButIgnored.has(f));
    const denied = new Set([".env", "node_modules/pkg/index.js", "src/server.key"]);
    expect(trackedButIgnored.has("excluded-by-info.ts")).toBe(true);
    expect(listed).toEqual(visible.filter((f) => !denied.has(f)).sort());
  });

  it("matches the deny list case-insensitively at any depth", async () => {
    const root = gitRepo({});
    const filter = await PathFilter.load(root, ["*.secret"]);
    for (const file of [
      ".env",
      ".ENV",
      "app/.env.local",
      "certs/site.PEM",
      "a/b/id_rsa.pub",
      "node_modules/x.js",
      "pkg/dist/index.js",
      "BUILD/out.js",
      "x.secret",
    ]) {
      expect((await filter.excluded(file))?.by, file).toBe("deny");
    }
    for (const file of ["src/environment.ts", "src/keys.ts", "distance.ts", "builder.ts"])
      expect(await filter.excluded(file), file).toBeUndefined();
  });

  it("knows the folders Builder never writes", () => {
    expect(inProtectedDir(".git/config")).toBe(".git");
    expect(inProtectedDir("pkg/.GIT/HEAD")).toBe(".git");
    expect(inProtectedDir(".builder/backups/x")).toBe(".builder");
    expect(inProtectedDir("src/git/a.ts")).toBeUndefined();
  });
});
