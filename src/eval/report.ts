import { formatTable } from "../format/table.js";
import type { EvalRow, EvalSummary } from "./results.js";
import { summarize } from "./results.js";
import type { DroppedCase } from "./validate.js";

/** The per-case table and the totals of a run, for a terminal. */
export function formatEvalTable(rows: readonly EvalRow[], summary: EvalSummary): string {
  const table = formatTable(
    ["case", "result", "verdict", "applied", "tokens in/out", "latency", "check"],
    rows.map((row) => [
      row.case_id,
      row.passed ? "PASS" : `fail (${row.stopped_at ?? "?"}${row.error ? `: ${row.error.code}` : ""})`,
      row.verdict ?? "-",
      row.applied ? "yes" : "no",
      `${row.prompt_tokens}/${row.generated_tokens}`,
      ms(row.latency_ms),
      ms(row.check_ms),
    ]),
    ["left", "left", "left", "left", "right", "right", "right"],
  );
  return table + formatTotals(summary);
}

/** One line per figure of a summary. */
export function formatTotals(s: EvalSummary): string {
  return (
    [
      `pass ${s.passed}/${s.cases} (${pct(s.pass_rate)}), applied ${pct(s.apply_rate)}, well-formed ${pct(s.well_formed_rate)}, VERIFIED but hidden check failed ${pct(s.verified_but_failed_rate)} of ${s.verified}`,
      `tokens in ${s.tokens_in} / out ${s.tokens_out}; latency p50 ${ms(s.latency_p50_ms)} p95 ${ms(s.latency_p95_ms)}; ${s.tokens_per_sec_p50 ?? "-"} tok/s p50; first token p50 ${ms(s.time_to_first_token_p50_ms)}; ${ms(s.case_ms_p50)} per case p50`,
    ].join("\n") + "\n"
  );
}

/** What `--validate` kept and dropped, for a terminal. */
export function formatValidation(kept: number, dropped: readonly DroppedCase[]): string {
  const reasons = new Map<string, number>();
  for (const d of dropped) reasons.set(d.reason, (reasons.get(d.reason) ?? 0) + 1);
  const why = [...reasons].map(([reason, n]) => `${n} ${reason}`).join(", ");
  const lines = [
    `validation: kept ${kept} of ${kept + dropped.length} case(s)${dropped.length ? `, dropped ${dropped.length} (${why})` : ""}`,
  ];
  for (const d of dropped) lines.push(`  dropped ${d.case_id}: ${d.detail}`);
  return lines.join("\n") + "\n";
}

/** Two runs side by side: one line per case, and each run's totals. */
export interface Comparison {
  cases: Array<{ case_id: string; a: CaseSide | null; b: CaseSide | null }>;
  a: EvalSummary;
  b: EvalSummary;
  /** Cases both runs have, and how many each passed of those alone. */
  common: { cases: number; a_passed: number; b_passed: number };
}

/** One side of a compared case. */
export interface CaseSide {
  passed: boolean;
  verdict: EvalRow["verdict"];
  latency_ms: number | null;
  generated_tokens: number;
}

/** Compares two runs by case id (a case one run lacks shows as null on that side). */
export function compareRuns(a: readonly EvalRow[], b: readonly EvalRow[]): Comparison {
  const side = (row: EvalRow | undefined): CaseSide | null =>
    row
      ? { passed: row.passed, verdict: row.verdict, latency_ms: row.latency_ms, generated_tokens: row.generated_tokens }
      : null;
  const byId = (rows: readonly EvalRow[]): Map<string, EvalRow> => new Map(rows.map((r) => [r.case_id, r]));
  const left = byId(a);
  const right = byId(b);
  const ids = [...new Set([...left.keys(), ...right.keys()])].sort();
  const both = ids.filter((id) => left.has(id) && right.has(id));
  return {
    cases: ids.map((id) => ({ case_id: id, a: side(left.get(id)), b: side(right.get(id)) })),
    a: summarize(a),
    b: summarize(b),
    common: {
      cases: both.length,
      a_passed: both.filter((id) => left.get(id)?.passed).length,
      b_passed: both.filter((id) => right.get(id)?.passed).length,
    },
  };
}

/** The comparison as a table: per case, then totals. */
export function formatComparison(comparison: Comparison, labels: { a: string; b: string }): string {
  const cell = (s: CaseSide | null): string =>
    s ? `${s.passed ? "PASS" : "fail"} ${s.verdict ?? "-"} ${ms(s.latency_ms)}` : "(absent)";
  const table = formatTable(
    ["case", `A: ${labels.a}`, `B: ${labels.b}`],
    comparison.cases.map((c) => [c.case_id, cell(c.a), cell(c.b)]),
  );
  const { common } = comparison;
  return `${table}\nA: ${formatTotals(comparison.a)}B: ${formatTotals(comparison.b)}on the ${common.cases} case(s) both ran: A passed ${common.a_passed}, B passed ${common.b_passed}\n`;
}

function pct(rate: number | null): string {
  return rate === null ? "-" : `${(rate * 100).toFixed(1)}%`;
}

function ms(value: number | null): string {
  if (value === null) return "-";
  return value >= 10_000
    ? `${(value / 1000).toFixed(0)} s`
    : value >= 1000
      ? `${(value / 1000).toFixed(1)} s`
      : `${Math.round(value)} ms`;
}
