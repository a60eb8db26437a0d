import { readdirSync } from "node:fs";
import path from "node:path";
import { WorkspaceEscapeError } from "../errors/errors.js";
import type { ModelAnswer } from "../task/schema.js";

/** One file's complete new content, at a workspace-relative POSIX path. The apply step takes the same list. */
export interface FileEdit {
  path: string;
  content: string;
}

/** Folders never scanned or copied: dependencies, VCS data, Builder's own state, build output. */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set(["node_modules", ".git", ".builder", "dist", "coverage"]);

const TEST_FILE = /(^|\/)__tests__\/|\.(test|spec)\.[cm]?[jt]sx?$/;

/** True for paths that hold tests by the usual conventions (`*.test.ts`, `*.spec.ts`, `__tests__/`). */
export function isTestPath(relativePath: string): boolean {
  return TEST_FILE.test(relativePath);
}

/**
 * Maps a path from an answer to a workspace-relative POSIX path, refusing anything that resolves
 * outside the workspace (`..`, an absolute path elsewhere). A minimal lexical check: symlinks and
 * Windows drive mapping are the workspace sandbox's job.
 */
export function resolveWorkspacePath(workspace: string, filePath: string): string {
  const trimmed = filePath.trim();
  if (trimmed === "" || trimmed.includes("\0")) {
    throw new WorkspaceEscapeError(`file_path "${filePath}" is not a usable path. Give a path inside the workspace, e.g. src/module.ts.`, { path: filePath });
  }
  const root = path.resolve(workspace);
  const absolute = path.resolve(root, trimmed.replace(/\\/g, "/"));
  const relative = path.relative(root, absolute);
  if (relative === "" || relative.startsWith("..") || path.isAbsolute(relative)) {
    throw new WorkspaceEscapeError(`file_path "${filePath}" resolves outside the workspace ${root}. Use a path inside it, e.g. src/module.ts.`, {
      path: filePath,
      workspace: root,
    });
  }
  return relative.split(path.sep).join("/");
}

/** Where a workspace keeps its tests. */
export interface TestConvention {
  /** "sibling": `src/a.test.ts` next to `src/a.ts`; "__tests__": `src/__tests__/a.test.ts`. */
  location: "sibling" | "__tests__";
  suffix: "test" | "spec";
}

/**
 * Detects the test convention from the test files already in the workspace: the code file's own
 * folder decides when it has tests, else the majority across the workspace; default `*.test.ts` beside the code.
 */
export function detectTestConvention(workspace: string, codePath: string): TestConvention {
  const counts = { sibling: 0, tests: 0, test: 0, spec: 0 };
  const local = { sibling: 0, tests: 0 };
  const codeDir = path.posix.dirname(codePath);
  let seen = 0;
  const walk = (relativeDir: string): void => {
    if (seen > 5000) return;
    let entries;
    try {
      entries = readdirSync(path.join(workspace, relativeDir), { withFileTypes: true });
    } catch {
      return;
    }
    for (const entry of entries) {
      seen++;
      const relative = relativeDir === "" ? entry.name : `${relativeDir}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith(".")) walk(relative);
        continue;
      }
      const match = /\.(test|spec)\.[cm]?[jt]sx?$/.exec(entry.name);
      if (!match) continue;
      counts[match[1] as "test" | "spec"]++;
      const inTestsDir = relative.split("/").includes("__tests__");
      if (inTestsDir) counts.tests++;
      else counts.sibling++;
      const dir = inTestsDir ? relative.slice(0, relative.lastIndexOf("/__tests__/")) || "." : path.posix.dirname(relative);
      if (dir === codeDir) {
        if (inTestsDir) local.tests++;
        else local.sibling++;
      }
    }
  };
  walk("");
  const useTestsDir = local.tests + local.sibling > 0 ? local.tests > local.sibling : counts.tests > counts.sibling;
  return { location: useTestsDir ? "__tests__" : "sibling", suffix: counts.spec > counts.test ? "spec" : "test" };
}

/** The test file path for a code file under a convention (`src/a.ts` → `src/a.test.ts` or `src/__tests__/a.test.ts`). */
export function testPathFor(codePath: string, convention: TestConvention): string {
  const ext = path.posix.extname(codePath) || ".ts";
  const base = path.posix.basename(codePath, ext);
  const dir = path.posix.dirname(codePath);
  const name = `${base}.${convention.suffix}${/^\.[cm]?[jt]sx?$/.test(ext) ? ext : ".ts"}`;
  const folder = convention.location === "__tests__" ? path.posix.join(dir, "__tests__") : dir;
  return folder === "." ? name : `${folder}/${name}`;
}

/** An answer turned into edits: the code at its file_path and, when there are tests, the tests beside it. */
export interface AnswerEdits {
  edits: FileEdit[];
  codePath: string;
  /** Where the tests go (also when the answer has none, so prompts can name it). */
  testPath: string;
}

/** Turns a model answer into file edits. Throws WorkspaceEscapeError when file_path leaves the workspace. */
export function editsForAnswer(workspace: string, answer: ModelAnswer): AnswerEdits {
  const codePath = resolveWorkspacePath(workspace, answer.file_path);
  const testPath = isTestPath(codePath) ? codePath : testPathFor(codePath, detectTestConvention(workspace, codePath));
  const edits: FileEdit[] = [{ path: codePath, content: answer.suggested_code }];
  if (answer.tests.trim() !== "" && testPath !== codePath) edits.push({ path: testPath, content: answer.tests });
  return { edits, codePath, testPath };
}
