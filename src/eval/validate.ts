import pLimit from "p-limit";
import type { Logger } from "pino";
import { toBuilderError } from "../errors/errors.js";
import { applyChanges } from "./answer-adapter.js";
import type { EvalCase } from "./case.js";
import { openCaseWorkspace } from "./case-workspace.js";
import type { SandboxSettings } from "../config/verify-settings.js";
import { runHiddenCheck } from "./hidden-check.js";

/** A case `--validate` dropped, and why. */
export interface DroppedCase {
  case_id: string;
  reason: "passes-before" | "reference-fails" | "no-reference" | "error";
  detail: string;
}

/** What validation found: the valid cases and the dropped ones, with the time each case took. */
export interface ValidationResult {
  valid: EvalCase[];
  dropped: DroppedCase[];
  /** Milliseconds per case, in case order. */
  caseMs: number[];
}

/** Options for {@link validateCases}. */
export interface ValidateOptions {
  checkTimeoutMs: number;
  concurrency: number;
  logger: Logger;
  /** Called as each case is decided: `dropped` says why it was not kept. */
  onCase?: (caseId: string, dropped: DroppedCase | undefined) => void;
  /** The configuration's deny list, honoured when the reference is applied. */
  deny: readonly string[];
  /** How the hidden checks are sandboxed (`verify.sandbox`); default auto. */
  sandbox?: SandboxSettings;
}

/**
 * Keeps only the cases whose hidden check fails before the change and passes after the case's
 * reference change, applied through the same path as an answer: a case whose tests already pass
 * measures nothing, one whose own change fails cannot be passed.
 */
export async function validateCases(cases: readonly EvalCase[], options: ValidateOptions): Promise<ValidationResult> {
  const limit = pLimit(Math.max(1, options.concurrency));
  const one = async (evalCase: EvalCase): Promise<{ dropped?: DroppedCase; ms: number }> => {
    const started = performance.now();
    const dropped = await validateOne(evalCase, options);
    options.onCase?.(evalCase.id, dropped);
    return { dropped, ms: Math.round(performance.now() - started) };
  };
  let verdicts: Array<{ dropped?: DroppedCase; ms: number }>;
  try {
    verdicts = await Promise.all(cases.map((evalCase) => limit(() => one(evalCase))));
  } finally {
    limit.clearQueue();
  }
  return {
    valid: cases.filter((_, i) => verdicts[i]?.dropped === undefined),
    dropped: verdicts.flatMap((v) => (v.dropped ? [v.dropped] : [])),
    caseMs: verdicts.map((v) => v.ms),
  };
}

async function validateOne(evalCase: EvalCase, options: ValidateOptions): Promise<DroppedCase | undefined> {
  const drop = (reason: DroppedCase["reason"], detail: string): DroppedCase => ({
    case_id: evalCase.id,
    reason,
    detail,
  });
  if (!evalCase.reference) return drop("no-reference", "the case has no reference change to validate with");
  let opened;
  try {
    opened = await openCaseWorkspace(evalCase.workspace, options.logger);
    const before = await runHiddenCheck(
      opened.root,
      evalCase.hidden,
      evalCase.checkCommand,
      options.checkTimeoutMs,
      options.sandbox,
    );
    if (before.passed) return drop("passes-before", "its tests already pass before the change");
    await applyChanges(opened.root, evalCase.reference, options.deny, options.logger);
    const after = await runHiddenCheck(
      opened.root,
      evalCase.hidden,
      evalCase.checkCommand,
      options.checkTimeoutMs,
      options.sandbox,
    );
    if (!after.passed)
      return drop(
        "reference-fails",
        `its tests fail with its own change${after.timedOut ? " (timed out)" : ""}: ${lastLine(after.outputTail)}`,
      );
    return undefined;
  } catch (error) {
    return drop("error", toBuilderError(error).message);
  } finally {
    await opened
      ?.dispose()
      .catch((error: unknown) =>
        options.logger.warn({ err: error, case: evalCase.id }, "could not remove the case's workspace copy"),
      );
  }
}

/** The line that says why a check failed: the last one naming a failure or an error, else the last one. */
function lastLine(text: string): string {
  const lines = text
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  const telling = lines.filter((l) => /\b(FAIL|fail(ed|ure)?|Error|not ok)\b|[×✗]/.test(l));
  return (telling.at(-1) ?? lines.at(-1) ?? "").slice(0, 300);
}
