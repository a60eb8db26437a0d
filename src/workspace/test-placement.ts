import path from "node:path";

/** Where a workspace keeps its tests: next to the code or in `__tests__/`, named `.test` or `.spec`. */
export interface TestConvention {
  layout: "colocated" | "__tests__";
  suffix: "test" | "spec";
}

const TEST_FILE = /\.(test|spec)\.[cm]?[jt]sx?$/;
const CODE_EXTENSION = /\.([cm]?[jt]sx?)$/;

/** True for files that are tests by name or place. */
export function isTestFile(relative: string): boolean {
  return TEST_FILE.test(relative) || relative.split("/").includes("__tests__");
}

/**
 * Detects the test convention from the workspace's files: the one used in the source's own folder
 * when it has tests, else the workspace's majority; `*.test.*` next to the code when there are none.
 */
export function detectTestConvention(files: readonly string[], source?: string): TestConvention {
  const tests = files.filter((file) => TEST_FILE.test(file));
  const sourceDir = source ? path.posix.dirname(source) : undefined;
  const near =
    sourceDir === undefined
      ? []
      : tests.filter(
          (file) => path.posix.dirname(file) === sourceDir || path.posix.dirname(file) === `${sourceDir}/__tests__`,
        );
  const sample = near.length > 0 ? near : tests;
  if (sample.length === 0) return { layout: "colocated", suffix: "test" };
  const inTestsDir = sample.filter((file) => file.split("/").includes("__tests__")).length;
  const spec = sample.filter((file) => /\.spec\.[^.]+$/.test(file)).length;
  return {
    layout: inTestsDir * 2 > sample.length ? "__tests__" : "colocated",
    suffix: spec * 2 > sample.length ? "spec" : "test",
  };
}

/** The test file for `source` (workspace-relative) under `convention`: `src/a.ts` → `src/a.test.ts` or `src/__tests__/a.test.ts`. */
export function testPathFor(source: string, convention: TestConvention): string {
  const dir = path.posix.dirname(source);
  const base = path.posix.basename(source);
  const match = CODE_EXTENSION.exec(base);
  const extension = match ? (match[1] as string) : "ts";
  const stem = match ? base.slice(0, -match[0].length) : base.replace(/\.[^.]*$/, "");
  const name = `${stem}.${convention.suffix}.${extension}`;
  const folder = convention.layout === "__tests__" ? path.posix.join(dir, "__tests__") : dir;
  return folder === "." ? name : `${folder}/${name}`;
}
