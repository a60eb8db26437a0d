import { readdirSync } from "node:fs";
import path from "node:path";
import { WorkspaceEscapeError } from "../errors/errors.js";
import type { ModelAnswer } from "../task/schema.js";
import { detectTestConvention as detectConventionFromFiles, testPathFor, type TestConvention } from "../workspace/test-placement.js";

export { testPathFor, type TestConvention };

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

/**
 * Detects the test convention from the test files already in the workspace, by the same rule the
 * apply step uses (so verified tests land where `--apply` writes them).
 */
export function detectTestConvention(workspace: string, codePath: string): TestConvention {
  return detectConventionFromFiles(listTestFiles(workspace), codePath);
}

/** Workspace-relative paths of the test files under `workspace` (at most 5,000 entries walked). */
function listTestFiles(workspace: string): string[] {
  const found: string[] = [];
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
      } else if (/\.(test|spec)\.[cm]?[jt]sx?$/.test(entry.name)) {
        found.push(relative);
      }
    }
  };
  walk("");
  return found;
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
