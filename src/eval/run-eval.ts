import { existsSync } from "node:fs";
import pLimit from "p-limit";
import type { Logger } from "pino";
import { createBackend } from "../backends/create-backend.js";
import type { Backend } from "../backends/types.js";
import type { BuilderConfig } from "../config/load.js";
import { UsageError } from "../errors/errors.js";
import { appendJsonLine } from "../workspace/jsonl.js";
import type { EvalCase } from "./case.js";
import { readEvalRows, type EvalRow } from "./results.js";
import { runCase } from "./run-case.js";
import { loadProjectPriming } from "../agent/task-context.js";

/** Options for {@link runEval}. */
export interface EvalRunOptions {
  cases: readonly EvalCase[];
  /** The suite's name in each row (`builtin`, a folder, `git:A..B`). */
  suite: string;
  config: BuilderConfig;
  answerer: EvalRow["answerer"];
  /** The JSONL file: one row per case, appended as each case ends. */
  out: string;
  /** Skip the cases `out` already has a row for (an interrupted run goes on); else `out` must not exist. */
  resume: boolean;
  concurrency: number;
  checkTimeoutMs: number;
  logger: Logger;
  /** A backend to use (it stays loaded); by default one is created from the config and disposed. */
  backend?: Backend;
  /** Called once the cases to run are known. */
  onStart?: (toRun: number, alreadyDone: number) => void;
  onRow?: (row: EvalRow) => void;
  signal?: AbortSignal;
}

/** The rows of a run: those it wrote, and those an earlier run had written (with `resume`). */
export interface EvalRunResult {
  rows: EvalRow[];
  ran: number;
  resumed: number;
}

/**
 * Runs the cases, `concurrency` at a time over one backend (an endpoint pool spreads them over its
 * servers), appending each case's row to `out` with one write as it ends, so that a killed run loses
 * at most the cases in flight and `resume` carries on from there.
 */
export async function runEval(options: EvalRunOptions): Promise<EvalRunResult> {
  if (existsSync(options.out) && !options.resume) {
    throw new UsageError(
      `${options.out} already exists. Add --resume to go on with that run, or choose another --out.`,
      { out: options.out },
    );
  }
  const earlier = options.resume ? await readEvalRows(options.out, { missingOk: true }) : [];
  const done = new Set(earlier.map((row) => row.case_id));
  const todo = options.cases.filter((c) => !done.has(c.id));
  const known = new Set(options.cases.map((c) => c.id));
  options.onStart?.(todo.length, options.cases.length - todo.length);
  const backend = options.answerer === "model" ? (options.backend ?? createBackend(options.config)) : undefined;
  const rows: EvalRow[] = earlier.filter((row) => known.has(row.case_id));
  try {
    // Knowledge that cannot be read, or a model that is missing or does not load, fails the run here
    // (a setup error, non-zero exit), not once per case as if the model had failed.
    if (backend && todo.length > 0) {
      await loadProjectPriming(options.config, "", options.logger);
      await backend.prepare();
    }
    const limit = pLimit(Math.max(1, options.concurrency));
    const one = async (evalCase: EvalCase): Promise<void> => {
      // After an abort, the cases not yet started are left for --resume.
      if (options.signal?.aborted) return;
      const row = await runCase(evalCase, {
        config: options.config,
        backend,
        answerer: options.answerer,
        suite: options.suite,
        checkTimeoutMs: options.checkTimeoutMs,
        logger: options.logger,
        signal: options.signal,
      });
      await appendJsonLine(options.out, row);
      rows.push(row);
      options.onRow?.(row);
    };
    try {
      await Promise.all(todo.map((evalCase) => limit(() => one(evalCase))));
    } finally {
      limit.clearQueue();
    }
  } finally {
    if (backend && !options.backend) await backend.dispose();
  }
  const order = new Map(options.cases.map((c, i) => [c.id, i]));
  rows.sort((a, b) => (order.get(a.case_id) ?? 0) - (order.get(b.case_id) ?? 0));
  return { rows, ran: rows.length - (options.cases.length - todo.length), resumed: options.cases.length - todo.length };
}
