import pLimit from "p-limit";
import type { Logger } from "pino";
import { createBackend } from "../backends/create-backend.js";
import type { Backend } from "../backends/types.js";
import type { BuilderConfig } from "../config/load.js";
import { BuilderError, toBuilderError } from "../errors/errors.js";
import { readTaskFile } from "../task/read-task.js";
import type { CodeSuggestion } from "../task/schema.js";
import { getLogger } from "../telemetry/logger.js";
import type { RunMetrics } from "../telemetry/metrics.js";
import { RunFailure, runTask, type RunTaskResult } from "./run-task.js";

/** Options for {@link runMany}. */
export interface RunManyOptions {
  config: BuilderConfig;
  /** How many tasks run at the same time. Default 1. */
  concurrency?: number;
  /** A backend to share (it stays loaded); by default one is created for all tasks and disposed. */
  backend?: Backend;
  logger?: Logger;
  signal?: AbortSignal;
  /** Called as each task ends, in the order they end. */
  onOutcome?: (outcome: TaskOutcome) => void;
}

/** How one task of a batch ended. */
export type TaskOutcome =
  | { index: number; source: string; ok: true; result: RunTaskResult }
  | { index: number; source: string; ok: false; taskId?: string; error: BuilderError; metrics?: RunMetrics };

/**
 * Runs many task files on one shared backend, `concurrency` at a time (with an endpoint pool, spread
 * over its servers). Each task's failure is its own: the others still run. Outcomes come back in the
 * order the files were given.
 */
export async function runMany(taskFiles: readonly string[], options: RunManyOptions): Promise<TaskOutcome[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? 1));
  const logger = options.logger ?? getLogger();
  const backend = options.backend ?? createBackend(options.config);
  const limit = pLimit(concurrency);
  const one = async (source: string, index: number): Promise<TaskOutcome> => {
    const outcome = await runOne(index, source, backend, options, logger);
    options.onOutcome?.(outcome);
    return outcome;
  };
  try {
    return await Promise.all(taskFiles.map((source, index) => limit(() => one(source, index))));
  } finally {
    // What has not started does not start on a disposed backend.
    limit.clearQueue();
    if (!options.backend) await backend.dispose();
  }
}

async function runOne(
  index: number,
  source: string,
  backend: Backend,
  options: RunManyOptions,
  logger: Logger,
): Promise<TaskOutcome> {
  let taskId: string | undefined;
  try {
    const task = await readTaskFile(source);
    taskId = task.task_id;
    const result = await runTask(task, {
      config: options.config,
      backend,
      logger: logger.child({ task_file: source }),
      signal: options.signal,
    });
    return { index, source, ok: true, result };
  } catch (caught) {
    if (caught instanceof RunFailure)
      return { index, source, ok: false, taskId, error: caught.error, metrics: caught.metrics };
    return { index, source, ok: false, taskId, error: toBuilderError(caught) };
  }
}

/** One JSON line of `builder run a.json b.json`: the task's suggestion or error, and its metrics. */
export interface OutcomeLine {
  task_file: string;
  task_id: string | null;
  ok: boolean;
  suggestion?: CodeSuggestion;
  error?: { code: string; message: string; details: Record<string, unknown> };
  metrics: RunMetrics | null;
}

/** Whether a task ended well: it produced a suggestion whose verification did not fail. */
function succeeded(outcome: TaskOutcome): boolean {
  return outcome.ok && outcome.result.suggestion.verification.verdict !== "FAILED";
}

/** The JSON line printed for an outcome (a FAILED verdict keeps its suggestion, with ok false). */
export function outcomeLine(outcome: TaskOutcome): OutcomeLine {
  if (outcome.ok) {
    return {
      task_file: outcome.source,
      task_id: outcome.result.metrics.task_id,
      ok: succeeded(outcome),
      suggestion: outcome.result.suggestion,
      metrics: outcome.result.metrics,
    };
  }
  return {
    task_file: outcome.source,
    task_id: outcome.taskId ?? null,
    ok: false,
    error: outcome.error.toJSON().error,
    metrics: outcome.metrics ?? null,
  };
}

/**
 * The error a batch ends with when any task failed (an error, or a suggestion that failed
 * verification): the first failed task's code (so the exit code is that task's), and a message
 * naming every failed task.
 */
export function batchFailure(outcomes: readonly TaskOutcome[]): BuilderError | undefined {
  const failed = outcomes
    .filter((o) => !succeeded(o))
    .map((o) => ({ source: o.source, code: o.ok ? "VERIFICATION_FAILED" : o.error.code }));
  if (failed.length === 0) return undefined;
  const list = failed.map((o) => `${o.source} (${o.code})`).join(", ");
  return new BuilderError(
    failed[0].code,
    `${failed.length} of ${outcomes.length} tasks failed: ${list}. Each task's result or error is on its line on stdout; the exit code is the first failed task's.`,
    { failed: failed.map((o) => ({ task_file: o.source, code: o.code })) },
  );
}
