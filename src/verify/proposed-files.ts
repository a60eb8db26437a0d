import { readdirSync } from "node:fs";
import path from "node:path";
import type { ModelAnswer } from "../task/schema.js";
import { neverWritten } from "../workspace/ignore.js";
import { toWorkspaceRelative } from "../workspace/paths.js";
import {
  detectTestConvention as detectConventionFromFiles,
  isTestFile,
  testPathFor,
  type TestConvention,
} from "../workspace/test-placement.js";

export { testPathFor, type TestConvention };

/**
 * One file as a suggestion proposes it: its complete new content (null: the file is deleted), at a
 * workspace-relative POSIX path. What verification writes into the scratch copy; not to be confused
 * with the workspace's `FileEdit` (src/workspace/file-edits.ts), an operation on the real tree with the
 * hash it expects to find there.
 */
export interface ProposedFile {
  path: string;
  content: string | null;
}

/**
 * Folders the scratch copy does not copy (when it is a plain copy, not a git worktree): dependencies
 * (linked in instead), VCS data, Builder's own state and generated output. This is about the cost of
 * the copy, not about what may be written: writes follow the workspace's rule ({@link neverWritten},
 * the deny list the real apply uses), so a check passes or fails on the same paths apply accepts.
 */
export const NOT_COPIED_DIRS: ReadonlySet<string> = new Set(["node_modules", ".git", ".builder", "dist", "coverage"]);

/**
 * Maps a path from an answer to a workspace-relative POSIX path by the workspace's own rules
 * (Windows and absolute paths mapped, escapes refused with WorkspaceEscapeError). Symlinks are the
 * sandbox's job when a suggestion is applied.
 */
export function resolveWorkspacePath(workspace: string, filePath: string): string {
  return toWorkspaceRelative(path.resolve(workspace), filePath.trim());
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
        // Folders the model never sees are not where the workspace's tests are (apply skips them too).
        if (neverWritten(`${relative}/`) === undefined && !entry.name.startsWith(".")) walk(relative);
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
  edits: ProposedFile[];
  codePath: string;
  /** Where the tests go (also when the answer has none, so prompts can name it). */
  testPath: string;
}

/** Turns a model answer into file edits. Throws WorkspaceEscapeError when file_path leaves the workspace. */
export function editsForAnswer(workspace: string, answer: ModelAnswer): AnswerEdits {
  const codePath = resolveWorkspacePath(workspace, answer.file_path);
  const testPath = isTestFile(codePath) ? codePath : testPathFor(codePath, detectTestConvention(workspace, codePath));
  // An edit answer names every file it changes: those are the edits, deletions included.
  if (answer.changes)
    return {
      edits: answer.changes.map((c) => ({ path: resolveWorkspacePath(workspace, c.path), content: c.content })),
      codePath,
      testPath,
    };
  const edits: ProposedFile[] = [{ path: codePath, content: answer.suggested_code }];
  if (answer.tests.trim() !== "" && testPath !== codePath) edits.push({ path: testPath, content: answer.tests });
  return { edits, codePath, testPath };
}
