// A run's metrics line, assembled from what the run measured: the backend's info, the usage of every
// generation (first answer and repairs) and the verification rounds. The agent records it; this module
// only adds things up, so the sums can be tested without a model.
import type { BackendInfo, GenerateResult, GenerationMetrics } from "../backends/types.js";
import { findBackendDescriptor } from "../backends/descriptors.js";
import { round } from "../format/numbers.js";
import type { VerificationReport } from "../verify/verify.js";
import { tokensPerSecond, type RunMetrics } from "./metrics.js";

/** Token usage over every generation of a run (first answer and repairs), as the metrics report it. */
export class RunUsage {
  /** Prompt tokens counted before each generation (kept when a run fails before generating). */
  private counted: number[] = [];
  /** The context assembly's count of the first prompt: the prompt size when no generation counted one. */
  private assembledTokens: number | undefined;
  readonly rounds: GenerateResult[] = [];

  promptCounted(tokens: number): void {
    this.counted.push(tokens);
  }

  generated(result: GenerateResult): void {
    this.rounds.push(result);
  }

  /** Set from the context assembly, before any generation (its count of the first prompt). */
  assembled(tokens: number): void {
    this.assembledTokens = tokens;
  }

  /** The usage fields of a metrics line: sums over the rounds (the first round's time to first token). */
  metrics(): Pick<
    RunMetrics,
    "prompt_tokens" | "prompt_ms" | "time_to_first_token_ms" | "generated_tokens" | "tokens_per_sec"
  > & { loadMs: number } {
    const all = this.rounds.map((r) => r.metrics);
    const sum = (pick: (m: GenerationMetrics) => number | undefined): number =>
      all.reduce((total, m) => total + (pick(m) ?? 0), 0);
    const first = all[0];
    const generated = sum((m) => m.generatedTokens);
    return {
      prompt_tokens:
        all.length > 0
          ? sum((m) => m.promptTokens)
          : this.counted.length > 0
            ? this.counted.reduce((a, b) => a + b, 0)
            : (this.assembledTokens ?? 0),
      prompt_ms: all.some((m) => m.promptMs !== undefined) ? round(sum((m) => m.promptMs)) : null,
      time_to_first_token_ms: first?.timeToFirstTokenMs !== undefined ? round(first.timeToFirstTokenMs) : null,
      generated_tokens: generated,
      tokens_per_sec:
        all.length > 0
          ? tokensPerSecond(
              generated,
              sum((m) => m.generationMs),
            )
          : null,
      loadMs: sum((m) => m.loadMs),
    };
  }
}

/** One verification round as the metrics see it (the agent's repair attempts are such rounds). */
export interface VerifiedRound {
  /** 0 = the first answer. */
  round: number;
  generation: GenerateResult;
  report: VerificationReport;
}

/** The verification rounds of a run, as the metrics see them (the agent's `RepairOutcome` is one). */
export interface VerifiedRounds {
  attempts: readonly VerifiedRound[];
  repairRounds: number;
}

/** What a run measured, for its metrics line. */
export interface RunMetricsInput {
  runId: string;
  taskId: string;
  /** The backend's info, once it loaded (a run can fail before). */
  info: BackendInfo | undefined;
  usage: RunUsage;
  /** `performance.now()` when the run started. */
  started: number;
  success: boolean;
  /** The failure's code, or null. */
  error: string | null;
  /** The configured backend and model: what the line names when the backend never loaded. */
  backendName: string;
  model: string | undefined;
  /** The verification rounds, when checks ran. */
  verification?: VerifiedRounds;
  verdict?: string;
}

/** The run's metrics line: usage summed over every round, the backend's load, the verification rounds. */
export function buildRunMetrics(input: RunMetricsInput): RunMetrics {
  const { loadMs, ...usage } = input.usage.metrics();
  return {
    event: "run",
    run_id: input.runId,
    timestamp: new Date().toISOString(),
    task_id: input.taskId,
    backend: input.info?.backend ?? input.backendName,
    model: input.info?.model ?? input.model ?? "",
    // Loading in this process (embedded) plus loading reported by a server for these requests (Ollama's load_duration).
    load_ms: round((input.info?.loadMs ?? 0) + loadMs),
    ...usage,
    total_ms: round(performance.now() - input.started),
    success: input.success,
    error: input.error,
    ...warmMetrics(input),
    ...(input.verdict !== undefined ? { verdict: input.verdict } : {}),
    ...(input.verification ? verificationMetrics(input.verification) : {}),
  };
}

/** Embedded-engine fields: where it ran, the cached prefix, and the drafts of every round. */
function warmMetrics(
  input: RunMetricsInput,
): Pick<
  RunMetrics,
  "engine" | "cached_prefix_tokens" | "draft_tokens_validated" | "draft_tokens_refuted" | "draft_switched_off"
> {
  const capabilities = input.info?.capabilities ?? findBackendDescriptor(input.backendName)?.capabilities;
  if (!capabilities?.ownEngine) return {};
  const generations = input.usage.rounds;
  const drafts = generations.map((g) => g.metrics.draftTokens).filter((d) => d !== undefined);
  return {
    engine:
      generations.some((g) => g.metrics.ranIn === "in-process") || input.info?.hostPid === undefined
        ? "in-process"
        : "host",
    ...(generations[0]?.metrics.cachedPrefixTokens !== undefined
      ? { cached_prefix_tokens: generations[0].metrics.cachedPrefixTokens }
      : {}),
    ...(drafts.length > 0
      ? {
          draft_tokens_validated: drafts.reduce((sum, d) => sum + d.validated, 0),
          draft_tokens_refuted: drafts.reduce((sum, d) => sum + d.refuted, 0),
          draft_switched_off: drafts.some((d) => d.switchedOff),
        }
      : {}),
  };
}

/** The verification fields: repair rounds, time in verification, each check's time, and each round. */
function verificationMetrics(
  verification: VerifiedRounds,
): Pick<RunMetrics, "repair_rounds" | "verify_ms" | "check_ms" | "rounds"> {
  const rounds = roundMetrics(verification);
  const checkMs: Record<string, number> = {};
  for (const r of rounds)
    for (const [name, ms] of Object.entries(r.check_ms)) checkMs[name] = round((checkMs[name] ?? 0) + ms);
  return {
    repair_rounds: verification.repairRounds,
    verify_ms: round(verification.attempts.reduce((sum, a) => sum + a.report.durationMs, 0)),
    check_ms: checkMs,
    rounds,
  };
}

/** Per-round metrics: tokens and each check's time. */
function roundMetrics(verification: VerifiedRounds): NonNullable<RunMetrics["rounds"]> {
  return verification.attempts.map((attempt) => ({
    round: attempt.round,
    generated_tokens: attempt.generation.metrics.generatedTokens,
    verdict: attempt.report.verdict,
    check_ms: Object.fromEntries(attempt.report.checks.map((c) => [c.name, round(c.durationMs)])),
  }));
}
