import { existsSync } from "node:fs";
import { z } from "zod";
import { TaskValidationError } from "../errors/errors.js";
import { percentile } from "../stats/percentile.js";
import { forEachLine } from "../workspace/jsonl.js";

/** One JSONL row: how one case went, from the answer to the hidden check. */
export const EvalRowSchema = z.object({
  event: z.literal("eval_case"),
  case_id: z.string(),
  suite: z.string(),
  /** Who answered: the model, or the case's own reference change (`--reference`). */
  answerer: z.enum(["model", "reference"]),
  backend: z.string(),
  model: z.string(),
  timestamp: z.string(),
  /** A schema-valid answer came back. */
  well_formed: z.boolean(),
  /** The answer's files were written into the workspace copy. */
  applied: z.boolean(),
  /** The hidden check passed after the answer was applied. */
  passed: z.boolean(),
  /** Builder's own verdict on the answer (null: no answer, or the reference). */
  verdict: z.enum(["VERIFIED", "FAILED", "UNVERIFIED"]).nullable(),
  /** Builder said VERIFIED, the hidden check said no: Builder's verdict was wrong. */
  verified_but_failed: z.boolean(),
  /** Where a case that did not pass stopped. */
  stopped_at: z.enum(["workspace", "answer", "apply", "check"]).nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  prompt_tokens: z.number(),
  generated_tokens: z.number(),
  /** The model run, verification and repairs included (null for the reference). */
  latency_ms: z.number().nullable(),
  tokens_per_sec: z.number().nullable(),
  time_to_first_token_ms: z.number().nullable(),
  check_ms: z.number().nullable(),
  check_exit_code: z.number().nullable(),
  /** The check's last output lines when it failed. */
  check_output: z.string().nullable(),
  /** The whole case: workspace copy, answer, apply, check, clean-up. */
  case_ms: z.number(),
});

export type EvalRow = z.infer<typeof EvalRowSchema>;

/** The figures of a run (or of one JSONL file). Rates are 0..1; null where nothing was there to count. */
export interface EvalSummary {
  cases: number;
  passed: number;
  pass_rate: number | null;
  apply_rate: number | null;
  well_formed_rate: number | null;
  verified: number;
  /** Of the VERIFIED answers, the share the hidden check failed. */
  verified_but_failed_rate: number | null;
  tokens_in: number;
  tokens_out: number;
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
  tokens_per_sec_p50: number | null;
  time_to_first_token_p50_ms: number | null;
  case_ms_p50: number | null;
}

/** Summarizes rows; a case that appears twice (a resumed run) counts once, its last row. */
export function summarize(rows: readonly EvalRow[]): EvalSummary {
  const byCase = new Map<string, EvalRow>();
  for (const row of rows) byCase.set(row.case_id, row);
  const all = [...byCase.values()];
  const n = all.length;
  const rate = (count: number, of: number): number | null => (of === 0 ? null : round(count / of, 4));
  const count = (pick: (row: EvalRow) => boolean): number => all.filter(pick).length;
  const values = (pick: (row: EvalRow) => number | null): number[] =>
    all.map(pick).filter((v): v is number => v !== null);
  const p = (list: number[], q: number): number | null => {
    const value = percentile(list, q);
    return value === undefined ? null : round(value, 1);
  };
  const verified = count((r) => r.verdict === "VERIFIED");
  const latencies = values((r) => r.latency_ms);
  return {
    cases: n,
    passed: count((r) => r.passed),
    pass_rate: rate(
      count((r) => r.passed),
      n,
    ),
    apply_rate: rate(
      count((r) => r.applied),
      n,
    ),
    well_formed_rate: rate(
      count((r) => r.well_formed),
      n,
    ),
    verified,
    verified_but_failed_rate: rate(
      count((r) => r.verified_but_failed),
      verified,
    ),
    tokens_in: all.reduce((sum, r) => sum + r.prompt_tokens, 0),
    tokens_out: all.reduce((sum, r) => sum + r.generated_tokens, 0),
    latency_p50_ms: p(latencies, 0.5),
    latency_p95_ms: p(latencies, 0.95),
    tokens_per_sec_p50: p(
      values((r) => r.tokens_per_sec),
      0.5,
    ),
    time_to_first_token_p50_ms: p(
      values((r) => r.time_to_first_token_ms),
      0.5,
    ),
    case_ms_p50: p(
      all.map((r) => r.case_ms),
      0.5,
    ),
  };
}

/**
 * Reads an eval JSONL file. A line that is not a row (a file cut by a crash mid-line cannot happen
 * with one write per row, but a hand edit can) is reported with its line number, not skipped silently.
 */
export async function readEvalRows(file: string, options: { missingOk?: boolean } = {}): Promise<EvalRow[]> {
  if (!existsSync(file)) {
    if (options.missingOk) return [];
    throw new TaskValidationError(
      `Eval results ${file} do not exist. Give the JSONL file that builder eval wrote (--out).`,
      { source: file },
    );
  }
  const rows: EvalRow[] = [];
  let lineNo = 0;
  const bad: number[] = [];
  await forEachLine(file, (line) => {
    lineNo++;
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      bad.push(lineNo);
      return;
    }
    const parsed = EvalRowSchema.safeParse(value);
    if (parsed.success) rows.push(parsed.data);
    else bad.push(lineNo);
  });
  if (bad.length > 0)
    throw new TaskValidationError(
      `${file} has ${bad.length} line(s) that are not eval rows (line ${bad.slice(0, 5).join(", ")}). Remove them, or write to a new --out file.`,
      { source: file, lines: bad.slice(0, 20) },
    );
  return rows;
}

function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
