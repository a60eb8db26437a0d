// The paths an answer writes, judged by the workspace: during the rounds (a refused path is the
// model's mistake, a repair round) and once more on the suggestion the run returns.
import type { WorkspaceContext } from "../context/workspace-context.js";
import { PathDeniedError, WorkspaceEscapeError } from "../errors/errors.js";
import type { CodeSuggestion, ModelAnswer } from "../task/schema.js";
import type { WorkspaceSandbox } from "../workspace/sandbox.js";
import { baseHashesFor } from "../workspace/suggestion-apply.js";

/** True for an explanation alone: no file changed (a task that names no file). */
export function changesNothing(answer: ModelAnswer): boolean {
  return answer.file_path === "" && (answer.changes ?? []).length === 0;
}

/** Why the workspace refuses to write a path the model chose (deny list, `.git`, a link out), or undefined. */
export async function refusedBySandbox(sandbox: WorkspaceSandbox, file: string): Promise<string | undefined> {
  try {
    await sandbox.resolveForWrite(file);
    return undefined;
  } catch (error) {
    if (error instanceof PathDeniedError || error instanceof WorkspaceEscapeError) return error.message;
    throw error;
  }
}

/**
 * Checks every path the suggestion changes for writing and rewrites them workspace-relative, then
 * records the base hashes (the files as the prompt showed them). A path outside the workspace or on
 * the deny list throws, unless verification already reported the suggestion FAILED: it is never
 * written, so its paths are left as they are. An explanation alone has no path and nothing to hash.
 */
export async function settleSuggestionPaths(
  suggestion: CodeSuggestion,
  sandbox: WorkspaceSandbox,
  workspace: WorkspaceContext,
): Promise<void> {
  if (changesNothing(suggestion)) {
    suggestion.base_hashes = {};
    return;
  }
  const failed = suggestion.verification.verdict === "FAILED";
  const paths = [suggestion.file_path, ...(suggestion.changes ?? []).map((c) => c.path)];
  const targets = await Promise.all(paths.map((p) => sandbox.resolveForWrite(p))).catch((error: unknown) => {
    if (failed) return undefined;
    throw error;
  });
  if (!targets) return;
  suggestion.file_path = (targets[0] as { relative: string }).relative;
  suggestion.changes = suggestion.changes?.map((c, i) => ({
    ...c,
    path: (targets[i + 1] as { relative: string }).relative,
  }));
  const atPrompt = Object.fromEntries(workspace.taskFiles.map((file) => [file.path, file.hash]));
  suggestion.base_hashes = await baseHashesFor(suggestion, sandbox, atPrompt);
}
