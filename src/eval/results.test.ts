import { appendFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test-support/fixtures.js";
import { compareRuns } from "./report.js";
import { readEvalRows, summarize, type EvalRow } from "./results.js";

function row(caseId: string, fields: Partial<EvalRow> = {}): EvalRow {
  return {
    event: "eval_case",
    case_id: caseId,
    suite: "s",
    answerer: "model",
    backend: "embedded",
    model: "m",
    timestamp: "2026-01-01T00:00:00Z",
    well_formed: true,
    applied: true,
    passed: false,
    verdict: "UNVERIFIED",
    verified_but_failed: false,
    stopped_at: "check",
    error: null,
    prompt_tokens: 100,
    generated_tokens: 10,
    latency_ms: 1000,
    tokens_per_sec: 20,
    time_to_first_token_ms: 50,
    check_ms: 10,
    check_exit_code: 1,
    check_output: null,
    case_ms: 2000,
    ...fields,
  };
}

describe("eval summary", () => {
  it("gives the rates, and the share of VERIFIED answers the hidden check failed", () => {
    const summary = summarize([
      row("a", { passed: true, verdict: "VERIFIED", stopped_at: null }),
      row("b", { verdict: "VERIFIED", verified_but_failed: true }),
      row("c", { well_formed: false, applied: false, verdict: null, stopped_at: "answer", latency_ms: 3000 }),
      row("d", { applied: false, stopped_at: "apply" }),
    ]);
    expect(summary).toMatchObject({
      cases: 4,
      passed: 1,
      pass_rate: 0.25,
      apply_rate: 0.5,
      well_formed_rate: 0.75,
      verified: 2,
      verified_but_failed_rate: 0.5,
      tokens_in: 400,
      tokens_out: 40,
      latency_p50_ms: 1000,
      latency_p95_ms: 3000,
    });
  });

  it("counts a case once when a resumed file has it twice (its last row)", () => {
    expect(summarize([row("a"), row("a", { passed: true })])).toMatchObject({ cases: 1, passed: 1 });
    expect(summarize([])).toMatchObject({ cases: 0, pass_rate: null, verified_but_failed_rate: null });
  });

  it("refuses a results file with a line that is not a row, naming the line", async () => {
    const file = path.join(tempDir(), "r.jsonl");
    writeFileSync(file, JSON.stringify(row("a")) + "\n");
    expect(await readEvalRows(file)).toHaveLength(1);
    appendFileSync(file, '{"event":"eval_case","case_id":\n');
    await expect(readEvalRows(file)).rejects.toMatchObject({
      code: "TASK_INVALID",
      message: expect.stringMatching(/line 2/),
    });
  });

  it("compares two runs per case, also when one lacks a case", () => {
    const comparison = compareRuns([row("a", { passed: true }), row("b")], [row("b", { passed: true }), row("c")]);
    expect(comparison.cases.map((c) => [c.case_id, c.a?.passed ?? null, c.b?.passed ?? null])).toEqual([
      ["a", true, null],
      ["b", false, true],
      ["c", null, false],
    ]);
    expect(comparison.common).toEqual({ cases: 1, a_passed: 0, b_passed: 1 });
  });
});
