import { describe, expect, it } from "vitest";
import { writeFiles } from "../test-support/fixtures.js";
import { git, gitRepo } from "../test-support/git-repo.js";
import { casesFromGit } from "./git-cases.js";

function commit(root: string, message: string, files: Record<string, string>): string {
  writeFiles(root, files);
  git(root, "add", "-A");
  git(root, "commit", "-q", "-m", message);
  return git(root, "rev-parse", "HEAD").trim();
}

describe("cases from git history", () => {
  it("makes a case of a commit that changes 1-3 source files and tests, and says why the others are not", async () => {
    const root = gitRepo({
      "package.json": JSON.stringify({ scripts: { test: "node --test" } }),
      "src/a.js": "export const a = 1;\n",
    });
    const first = git(root, "rev-parse", "HEAD").trim();
    const good = commit(root, "Add b\n\nb is two.", {
      "src/b.js": "export const b = 2;\n",
      "test/b.test.js": "// test b\n",
    });
    commit(root, "Docs", { "README.md": "# r\n" });
    commit(root, "Only tests", { "test/a.test.js": "// test a\n" });
    commit(root, "Big change", {
      "src/c.js": "1",
      "src/d.js": "2",
      "src/e.js": "3",
      "src/f.js": "4",
      "test/c.test.js": "// c\n",
    });
    const { cases, skipped } = await casesFromGit({ repo: root, range: `${first}..HEAD` });
    expect(cases).toHaveLength(1);
    const [made] = cases;
    expect(made?.id).toBe(good.slice(0, 10));
    expect(made?.workspace).toEqual({ kind: "git", repo: expect.any(String), commit: first });
    expect(made?.task).toMatchObject({ objective: "Add b\n\nb is two.", files: ["src/b.js"] });
    expect(made?.hidden).toEqual([{ path: "test/b.test.js", content: "// test b\n" }]);
    expect(made?.reference).toEqual([{ path: "src/b.js", content: "export const b = 2;\n" }]);
    expect(made?.checkCommand).toBe("npm test --silent -- test/b.test.js");
    expect(skipped.map((s) => [s.subject, s.reason])).toEqual([
      ["Docs", "adds or changes no tests"],
      ["Only tests", "changes no source files"],
      ["Big change", "changes 4 source files (at most 3)"],
    ]);
  });

  it("fills the configured test command's {files} with the commit's test files", async () => {
    const root = gitRepo({ "src/a.ts": "export const a = 1;\n" });
    const first = git(root, "rev-parse", "HEAD").trim();
    commit(root, "Change a", {
      "src/a.ts": "export const a = 2;\n",
      "src/a.test.ts": "// t\n",
      "src/__tests__/more.ts": "// t2\n",
    });
    const { cases } = await casesFromGit({
      repo: root,
      range: `${first}..HEAD`,
      testCommand: "npx vitest run {files} --silent",
    });
    expect(cases[0]?.checkCommand).toBe("npx vitest run src/__tests__/more.ts src/a.test.ts --silent");
    const none = await casesFromGit({ repo: root, range: `${first}..HEAD` });
    expect(none.cases).toEqual([]);
    expect(none.skipped[0]?.reason).toMatch(/no test command/);
  });
});
