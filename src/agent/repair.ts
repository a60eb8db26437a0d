import type { ChatMessage, GenerateResult } from "../backends/types.js";
import { BuilderError } from "../errors/errors.js";
import type { ModelAnswer } from "../task/schema.js";
import type { CheckResult } from "../verify/types.js";
import type { VerificationReport } from "../verify/verify.js";

/** One answer from the model, as generated. */
export interface GeneratedAnswer {
  answer: ModelAnswer;
  generation: GenerateResult;
  /** Notes on how the answer was read (edits matched only with whitespace ignored…), for `verification.notes`. */
  cutFields: string[];
  /** Why the answer's changes do not apply (empty when they do): verification reports them as a failed `edits` check. */
  problems: string[];
}

/** One round: an answer and what verification said about it. Round 0 is the first answer. */
export interface Attempt extends GeneratedAnswer {
  round: number;
  report: VerificationReport;
}

/** What the repair loop needs from the agent: a way to verify an answer and a way to ask for a corrected one. */
export interface RepairDeps {
  /** `generated` is the answer as produced (its edit problems, if any). */
  verify(answer: ModelAnswer, generated?: GeneratedAnswer): Promise<VerificationReport>;
  /** Asks the model to correct `previous`; throws a BuilderError when it cannot (prompt too large, truncated answer…). */
  repair(previous: Attempt): Promise<GeneratedAnswer>;
  maxRepairs: number;
}

/** How the loop ended. */
export interface RepairOutcome {
  /** The answer reported: the one that did not fail, else the one with the fewest failures (the latest on a tie). */
  best: Attempt;
  attempts: Attempt[];
  /** Repair rounds that produced an answer. */
  repairRounds: number;
  /** Why the loop stopped, for the suggestion's notes. */
  stopped: string;
}

/**
 * Verifies the first answer and, while it fails, sends the model its answer plus the diagnostics and
 * verifies the correction: at most `maxRepairs` rounds, and no further once a round fixes nothing
 * that the round before had wrong.
 */
export async function verifyWithRepairs(first: GeneratedAnswer, deps: RepairDeps): Promise<RepairOutcome> {
  const attempts: Attempt[] = [{ ...first, round: 0, report: await deps.verify(first.answer, first) }];
  let stopped: string;
  for (let round = 1; ; round++) {
    const previous = attempts[attempts.length - 1] as Attempt;
    if (previous.report.verdict !== "FAILED") {
      const what = previous.report.verdict === "VERIFIED" ? "verified" : "nothing failed";
      stopped = round === 1 ? `the first answer: ${what}` : `${what} after ${round - 1} repair round(s)`;
      break;
    }
    if (round > deps.maxRepairs) {
      stopped =
        deps.maxRepairs === 0
          ? "repairs are off (--max-repairs 0)"
          : `still failing after the allowed ${deps.maxRepairs} repair round(s)`;
      break;
    }
    if (attempts.length >= 2 && fixedKeys(attempts[attempts.length - 2] as Attempt, previous).length === 0) {
      stopped = `stopped early: repair round ${previous.round} fixed nothing that round ${previous.round - 1} had wrong`;
      break;
    }
    let next: GeneratedAnswer;
    try {
      next = await deps.repair(previous);
    } catch (error) {
      if (
        !(error instanceof BuilderError) ||
        !["GENERATION_TRUNCATED", "GENERATION_FAILED", "ENGINE_FAULT", "CONTEXT_OVERFLOW"].includes(error.code)
      )
        throw error;
      stopped = `repair round ${round} produced no usable answer (${error.code}: ${error.message})`;
      break;
    }
    attempts.push({ ...next, round, report: await deps.verify(next.answer, next) });
  }
  return { best: pickBest(attempts), attempts, repairRounds: attempts.length - 1, stopped };
}

/** Diagnostics of `before` that `after` no longer has (positions ignored: code moves between rounds). */
export function fixedKeys(before: Attempt, after: Attempt): string[] {
  const now = new Set(failureKeys(after.report));
  return failureKeys(before.report).filter((key) => !now.has(key));
}

function failureKeys(report: VerificationReport): string[] {
  return report.checks
    .filter((check) => check.status === "failed")
    .flatMap((check) =>
      (check.diagnostics.length > 0 ? check.diagnostics : [check.summary]).map(
        (d) => `${check.name}|${d.replace(/:\d+:\d+ /, " ")}`,
      ),
    );
}

function pickBest(attempts: readonly Attempt[]): Attempt {
  let best = attempts[0] as Attempt;
  for (const attempt of attempts) {
    if (attempt.report.verdict !== "FAILED") return attempt;
    const score = (a: Attempt): [number, number] => [
      a.report.checks.filter((c) => c.status === "failed").length,
      failureKeys(a.report).length,
    ];
    const [checks, diagnostics] = score(attempt);
    const [bestChecks, bestDiagnostics] = score(best);
    if (checks < bestChecks || (checks === bestChecks && diagnostics <= bestDiagnostics)) best = attempt;
  }
  return best;
}

/** The smallest number of diagnostic lines per check tried before a repair prompt is declared too large. */
export const REPAIR_DIAGNOSTIC_LIMITS = [20, 10, 5, 2, 1] as const;

/**
 * The repair conversation: the original prompt, the model's previous answer, and the failures (at
 * most `maxLinesPerCheck` diagnostics per check) with the request for a corrected answer.
 */
export function buildRepairMessages(
  base: readonly ChatMessage[],
  previous: Attempt,
  maxLinesPerCheck: number,
): ChatMessage[] {
  // The model sees its answer as it wrote it (its own format), not Builder's reading of it.
  return [
    ...base,
    { role: "assistant", content: previous.generation.text },
    { role: "user", content: repairRequest(previous.report.checks, maxLinesPerCheck) },
  ];
}

function repairRequest(checks: readonly CheckResult[], maxLines: number): string {
  const lines = ["Builder checked your answer in a copy of the workspace and it failed these checks:"];
  for (const check of checks.filter((c) => c.status === "failed")) {
    lines.push(`- ${check.name}: ${check.summary}`);
    for (const diagnostic of check.diagnostics.slice(0, maxLines)) lines.push(`    ${diagnostic}`);
    if (check.diagnostics.length > maxLines) lines.push(`    … and ${check.diagnostics.length - maxLines} more`);
  }
  const passed = checks.filter((c) => c.status === "passed").map((c) => c.name);
  if (passed.length > 0) lines.push(`Passed: ${passed.join(", ")}. Keep what already works.`);
  lines.push(
    "Your changes were not applied. Answer again in the same format with every change, against the files as shown above, fixing every problem above.",
  );
  return lines.join("\n");
}
