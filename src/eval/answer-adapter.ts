/**
 * The one place where eval meets Builder's run and apply machinery: ask the model for a task's
 * answer (`runTask`, verification and repairs included), turn a suggestion into file changes, and
 * write changes through the workspace's apply path. When the answer's shape changes (a list of file
 * changes instead of one file), only this module needs to follow.
 */
import type { Logger } from "pino";
import { RunFailure } from "../agent/run-failure.js";
import { runTask } from "../agent/run-task.js";
import type { Backend } from "../backends/types.js";
import type { BuilderConfig } from "../config/load.js";
import { toBuilderError, type BuilderError } from "../errors/errors.js";
import type { BuilderTask, CodeSuggestion } from "../task/schema.js";
import type { RunMetrics } from "../telemetry/metrics.js";
import { applyEdits } from "../workspace/apply.js";
import { newRunId } from "../format/run-id.js";
import type { FileEdit } from "../workspace/file-edits.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { editsForSuggestion } from "../workspace/suggestion-apply.js";

/** A file an answer changes: its new content, or null when the answer deletes it. */
export interface CaseChange {
  path: string;
  content: string | null;
}

/** What the model gave for one case: a suggestion (with Builder's verdict) or the error that stopped it. */
export type ModelAnswer =
  | { ok: true; suggestion: CodeSuggestion; metrics: RunMetrics }
  | { ok: false; error: BuilderError; metrics?: RunMetrics };

/**
 * Runs the task in the case's workspace copy (`config.workspace` must be that copy); the knowledge
 * files are read from `projectWorkspace`, the project's own folder, where they live.
 */
export async function askModel(
  task: BuilderTask,
  config: BuilderConfig,
  backend: Backend,
  logger: Logger,
  options: { signal?: AbortSignal; projectWorkspace?: string } = {},
): Promise<ModelAnswer> {
  try {
    const result = await runTask(task, {
      config,
      backend,
      logger,
      signal: options.signal,
      knowledgeWorkspace: options.projectWorkspace,
    });
    return { ok: true, suggestion: result.suggestion, metrics: result.metrics };
  } catch (caught) {
    if (caught instanceof RunFailure) return { ok: false, error: caught.error, metrics: caught.metrics };
    return { ok: false, error: toBuilderError(caught) };
  }
}

/**
 * The files a suggestion writes or deletes, where `builder apply` would (its tests by the workspace's
 * convention). A deletion stays a deletion: dropping it would score the answer as if the file were kept.
 */
export async function changesOfSuggestion(
  root: string,
  suggestion: CodeSuggestion,
  deny: readonly string[],
): Promise<CaseChange[]> {
  const sandbox = await WorkspaceSandbox.open({ root, deny });
  const { edits } = await editsForSuggestion({ ...suggestion, base_hashes: undefined }, sandbox);
  return edits.map((edit) => ({
    path: edit.path,
    content: edit.kind === "write" ? Buffer.from(edit.content).toString("utf8") : null,
  }));
}

/**
 * Writes changes into the case's workspace copy through the same checked, backed-up apply path as
 * `builder apply` (paths must stay inside, deny list honoured). Throws the apply's error when it refuses.
 */
export async function applyChanges(
  root: string,
  changes: readonly CaseChange[],
  deny: readonly string[],
  logger: Logger,
): Promise<void> {
  const sandbox = await WorkspaceSandbox.open({ root, deny });
  await applyEdits(
    changes.map((change): FileEdit =>
      change.content === null
        ? { kind: "delete", path: change.path }
        : { kind: "write", path: change.path, content: change.content },
    ),
    // The copy is removed after the case: its "undo with builder undo" line would point nowhere.
    { sandbox, runId: newRunId("eval-"), force: true, source: "run", logger: logger.child({}, { level: "warn" }) },
  );
}
