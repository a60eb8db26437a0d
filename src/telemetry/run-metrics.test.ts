import { describe, expect, it } from "vitest";
import { describeBackend } from "../backends/descriptors.js";
import type { BackendInfo, GenerateResult, GenerationMetrics } from "../backends/types.js";
import type { CheckResult } from "../verify/types.js";
import type { VerificationReport } from "../verify/verify.js";
import { buildRunMetrics, RunUsage, type RunMetricsInput, type VerifiedRound } from "./run-metrics.js";

function generation(metrics: Partial<GenerationMetrics> = {}): GenerateResult {
  return {
    text: "{}",
    stopReason: "stop",
    metrics: { promptTokens: 100, generatedTokens: 11, generationMs: 500, ...metrics },
  };
}

/** A loaded backend's info: the embedded engine's, unless `fields` name another backend. */
function info(fields: Omit<Partial<BackendInfo>, "capabilities"> = {}): BackendInfo {
  const backend = fields.backend ?? "embedded";
  return {
    backend,
    capabilities: describeBackend(backend).capabilities,
    model: "/models/coder.gguf",
    contextSize: 8192,
    device: "cpu",
    loadMs: 1200,
    ...fields,
  };
}

function check(name: CheckResult["name"], status: CheckResult["status"], durationMs: number): CheckResult {
  return { name, status, durationMs, diagnostics: [], summary: "", notes: [] };
}

function attempt(round: number, generatedTokens: number, report: VerificationReport): VerifiedRound {
  return { round, generation: generation({ generatedTokens }), report };
}

/** A metrics input for a run that used `usage`, on the backend `info` described (or none: it never loaded). */
function input(usage: RunUsage, fields: Partial<RunMetricsInput> = {}): RunMetricsInput {
  return {
    runId: "run-1",
    taskId: "task-1",
    info: info(),
    usage,
    started: performance.now(),
    success: true,
    error: null,
    backendName: "embedded",
    model: "configured-model",
    ...fields,
  };
}

describe("RunUsage (the usage fields of a run's metrics)", () => {
  it("counts the first prompt once when the run fails after counting it and before any generation", () => {
    const usage = new RunUsage();
    usage.assembled(9435);
    usage.promptCounted(9435);
    expect(usage.metrics().prompt_tokens).toBe(9435);
  });

  it("takes the context assembly's count when the run fails before any generation counted its prompt", () => {
    const usage = new RunUsage();
    usage.assembled(9435);
    expect(usage.metrics().prompt_tokens).toBe(9435);
  });

  it("sums the prompts of every round counted (a first answer and a repair)", () => {
    const usage = new RunUsage();
    usage.assembled(100);
    usage.promptCounted(100);
    usage.promptCounted(140);
    expect(usage.metrics().prompt_tokens).toBe(240);
  });
});

describe("buildRunMetrics (a run's metrics line)", () => {
  it("sums usage over every round, takes the first round's time to first token, and adds the loads", () => {
    const usage = new RunUsage();
    usage.generated(generation({ promptTokens: 100, promptMs: 40, timeToFirstTokenMs: 50, generatedTokens: 11 }));
    usage.generated(generation({ promptTokens: 140, promptMs: 60, timeToFirstTokenMs: 90, loadMs: 300 }));
    const metrics = buildRunMetrics(input(usage, { info: info({ backend: "ollama", loadMs: 0 }) }));
    expect(metrics).toMatchObject({
      event: "run",
      run_id: "run-1",
      task_id: "task-1",
      backend: "ollama",
      model: "/models/coder.gguf",
      load_ms: 300,
      prompt_tokens: 240,
      prompt_ms: 100,
      time_to_first_token_ms: 50,
      generated_tokens: 22,
      // The 21 tokens after the first, over the rounds' 1000 ms of generation.
      tokens_per_sec: 21,
      success: true,
      error: null,
    });
  });

  it("leaves out the embedded engine's fields on a server backend", () => {
    const usage = new RunUsage();
    usage.generated(
      generation({ cachedPrefixTokens: 80, draftTokens: { validated: 3, refuted: 1, switchedOff: false } }),
    );
    const metrics = buildRunMetrics(input(usage, { info: info({ backend: "openai" }), backendName: "openai" }));
    expect(metrics).not.toHaveProperty("engine");
    expect(metrics).not.toHaveProperty("cached_prefix_tokens");
    expect(metrics).not.toHaveProperty("draft_tokens_validated");
  });

  it("reports the Builder host, the first round's cached prefix and the drafts of every round on the embedded engine", () => {
    const usage = new RunUsage();
    usage.generated(
      generation({
        ranIn: "host",
        cachedPrefixTokens: 80,
        draftTokens: { validated: 3, refuted: 1, switchedOff: false },
      }),
    );
    usage.generated(
      generation({
        ranIn: "host",
        cachedPrefixTokens: 95,
        draftTokens: { validated: 5, refuted: 2, switchedOff: true },
      }),
    );
    const metrics = buildRunMetrics(input(usage, { info: info({ hostPid: 4242 }) }));
    expect(metrics).toMatchObject({
      engine: "host",
      cached_prefix_tokens: 80,
      draft_tokens_validated: 8,
      draft_tokens_refuted: 3,
      draft_switched_off: true,
    });
  });

  it("reports in-process when a round failed over from the Builder host to the engine in this process", () => {
    const usage = new RunUsage();
    usage.generated(generation({ ranIn: "host" }));
    usage.generated(generation({ ranIn: "in-process" }));
    expect(buildRunMetrics(input(usage, { info: info({ hostPid: 4242 }) })).engine).toBe("in-process");
  });

  it("names the configured backend and model, and the failure, when the run failed before the backend loaded", () => {
    const usage = new RunUsage();
    usage.assembled(9435);
    const metrics = buildRunMetrics(
      input(usage, { info: undefined, success: false, error: "PROMPT_TOO_LARGE", backendName: "ollama" }),
    );
    expect(metrics).toMatchObject({
      backend: "ollama",
      model: "configured-model",
      load_ms: 0,
      prompt_tokens: 9435,
      prompt_ms: null,
      time_to_first_token_ms: null,
      tokens_per_sec: null,
      success: false,
      error: "PROMPT_TOO_LARGE",
    });
    expect(metrics).not.toHaveProperty("verdict");
    expect(metrics).not.toHaveProperty("rounds");
  });

  it("sums each check's time over the verification rounds and lists every round", () => {
    const failed: VerificationReport = {
      verdict: "FAILED",
      checks: [check("typecheck", "passed", 1000.004), check("tests", "failed", 2500)],
      notes: [],
      durationMs: 3600,
    };
    const verified: VerificationReport = {
      verdict: "VERIFIED",
      checks: [check("typecheck", "passed", 800), check("tests", "passed", 2000)],
      notes: [],
      durationMs: 2900,
    };
    const metrics = buildRunMetrics(
      input(new RunUsage(), {
        verification: { attempts: [attempt(0, 40, failed), attempt(1, 35, verified)], repairRounds: 1 },
        verdict: "VERIFIED",
      }),
    );
    expect(metrics).toMatchObject({
      verdict: "VERIFIED",
      repair_rounds: 1,
      verify_ms: 6500,
      check_ms: { typecheck: 1800, tests: 4500 },
      rounds: [
        { round: 0, generated_tokens: 40, verdict: "FAILED", check_ms: { typecheck: 1000, tests: 2500 } },
        { round: 1, generated_tokens: 35, verdict: "VERIFIED", check_ms: { typecheck: 800, tests: 2000 } },
      ],
    });
  });
});
