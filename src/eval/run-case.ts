import type { Logger } from "pino";
import type { Backend } from "../backends/types.js";
import type { BuilderConfig } from "../config/load.js";
import { toBuilderError } from "../errors/errors.js";
import { applyChanges, askModel, changesOfSuggestion, type CaseChange, type ModelAnswer } from "./answer-adapter.js";
import type { EvalCase } from "./case.js";
import { openCaseWorkspace, type OpenedWorkspace } from "./case-workspace.js";
import { runHiddenCheck, type CheckOutcome } from "./hidden-check.js";
import type { EvalRow } from "./results.js";

/** What every case of a run shares. */
export interface CaseRunContext {
  /** The loaded configuration; each case runs it with its own workspace copy as the workspace. */
  config: BuilderConfig;
  /** The model's backend, shared by all cases; absent when the reference answers. */
  backend?: Backend;
  answerer: EvalRow["answerer"];
  suite: string;
  checkTimeoutMs: number;
  logger: Logger;
  signal?: AbortSignal;
}

/**
 * Runs one case in a fresh copy of its workspace: the answer (the model's, through `runTask`, or the
 * case's reference change), applied through the apply path, then the hidden tests placed in and the
 * check command run. Never throws: whatever stops the case is its row. The copy is always removed.
 */
export async function runCase(evalCase: EvalCase, context: CaseRunContext): Promise<EvalRow> {
  const started = performance.now();
  const { config, logger } = context;
  const row = emptyRow(evalCase, context);
  let opened: OpenedWorkspace | undefined;
  let stage: NonNullable<EvalRow["stopped_at"]> = "workspace";
  try {
    opened = await openCaseWorkspace(evalCase.workspace, logger);
    const root = opened.root;
    stage = "answer";
    let changes: readonly CaseChange[];
    if (context.answerer === "reference" || !context.backend) {
      if (!evalCase.reference) throw new Error(`case ${evalCase.id} has no reference change`);
      changes = evalCase.reference;
      row.well_formed = true;
    } else {
      const answer = await askModel(
        evalCase.task,
        { ...config, workspace: root },
        context.backend,
        logger.child({ case: evalCase.id }),
        { signal: context.signal, projectWorkspace: config.workspace },
      );
      recordAnswer(row, answer);
      if (!answer.ok) throw answer.error;
      stage = "apply";
      changes = await changesOfSuggestion(root, answer.suggestion, config.deny);
    }
    stage = "apply";
    await applyChanges(root, changes, config.deny, logger);
    row.applied = true;
    stage = "check";
    const check = await runHiddenCheck(
      root,
      evalCase.hidden,
      evalCase.checkCommand,
      context.checkTimeoutMs,
      config.verify.sandbox,
    );
    if (check.unsandboxed) logger.warn({ case: evalCase.id }, check.unsandboxed);
    recordCheck(row, check);
  } catch (caught) {
    const error = toBuilderError(caught);
    row.stopped_at = stage;
    row.error = { code: error.code, message: caught instanceof Error ? caught.message : error.message };
  } finally {
    await opened
      ?.dispose()
      .catch((error: unknown) =>
        logger.warn({ err: error, case: evalCase.id }, "could not remove the case's workspace copy"),
      );
  }
  row.verified_but_failed = row.verdict === "VERIFIED" && !row.passed;
  row.case_ms = Math.round(performance.now() - started);
  return row;
}

function emptyRow(evalCase: EvalCase, context: CaseRunContext): EvalRow {
  const reference = context.answerer === "reference";
  return {
    event: "eval_case",
    case_id: evalCase.id,
    suite: context.suite,
    answerer: context.answerer,
    backend: reference ? "reference" : context.config.backend,
    model: reference ? "reference" : (context.config.model ?? ""),
    timestamp: new Date().toISOString(),
    well_formed: false,
    applied: false,
    passed: false,
    verdict: null,
    verified_but_failed: false,
    stopped_at: null,
    error: null,
    prompt_tokens: 0,
    generated_tokens: 0,
    latency_ms: null,
    tokens_per_sec: null,
    time_to_first_token_ms: null,
    check_ms: null,
    check_exit_code: null,
    check_output: null,
    case_ms: 0,
  };
}

function recordAnswer(row: EvalRow, answer: ModelAnswer): void {
  const metrics = answer.metrics;
  if (metrics) {
    row.model = metrics.model || row.model;
    row.backend = metrics.backend || row.backend;
    row.prompt_tokens = metrics.prompt_tokens;
    row.generated_tokens = metrics.generated_tokens;
    row.latency_ms = metrics.total_ms;
    row.tokens_per_sec = metrics.tokens_per_sec;
    row.time_to_first_token_ms = metrics.time_to_first_token_ms;
  }
  if (answer.ok) {
    row.well_formed = true;
    row.verdict = answer.suggestion.verification.verdict;
  }
}

function recordCheck(row: EvalRow, check: CheckOutcome): void {
  row.passed = check.passed;
  row.check_ms = Math.round(check.durationMs);
  row.check_exit_code = check.exitCode;
  if (!check.passed) {
    row.stopped_at = "check";
    row.check_output = check.timedOut ? `timed out; ${check.outputTail}` : check.outputTail;
  }
}
