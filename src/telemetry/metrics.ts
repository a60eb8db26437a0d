import path from "node:path";
import type { Logger } from "pino";
import { round } from "../format/numbers.js";
import { appendJsonLine } from "../workspace/jsonl.js";

/** One line of `.builder/metrics.jsonl`, also logged on stderr at the end of every run. */
export interface RunMetrics {
  event: "run";
  run_id: string;
  timestamp: string;
  task_id: string;
  backend: string;
  model: string;
  load_ms: number;
  prompt_tokens: number;
  prompt_ms: number | null;
  time_to_first_token_ms: number | null;
  generated_tokens: number;
  /** Generation speed only: tokens after the first, divided by the time after the first. */
  tokens_per_sec: number | null;
  total_ms: number;
  success: boolean;
  error: string | null;
  /** Embedded backend: where the model ran ("host": the machine's Builder host; "in-process"). */
  engine?: "host" | "in-process";
  /** Prompt tokens not evaluated again (kept in memory by the Builder host or restored from the prefix cache), first answer. */
  cached_prefix_tokens?: number;
  /** Prompt-lookup speculative decoding, all rounds: draft tokens validated and refuted. */
  draft_tokens_validated?: number;
  draft_tokens_refuted?: number;
  /** True when a round switched speculative decoding off for low acceptance. */
  draft_switched_off?: boolean;
  verdict?: string;
  repair_rounds?: number;
  /** Time spent in verification, all rounds together. */
  verify_ms?: number;
  /** Each check's time, all rounds together. */
  check_ms?: Record<string, number>;
  /** Each round (0 = the first answer): tokens generated, verdict, and each check's time. */
  rounds?: Array<{ round: number; generated_tokens: number; verdict: string; check_ms: Record<string, number> }>;
}

/** Path of the workspace's metrics file. */
export function metricsFile(workspace: string): string {
  return path.join(workspace, ".builder", "metrics.jsonl");
}

/** Below this the clock says nothing: an answer delivered in one chunk has ~0 ms between its tokens. */
export const MIN_GENERATION_MS = 1;

/**
 * Generation tokens/s from a token count and the time after the first token; null when there is no
 * speed to measure (fewer than 2 tokens, or under {@link MIN_GENERATION_MS}, as when a backend sends
 * the whole answer at once), rather than an absurd figure that would skew `builder stats`.
 */
export function tokensPerSecond(generatedTokens: number, generationMs: number): number | null {
  if (generatedTokens < 2 || !(generationMs >= MIN_GENERATION_MS)) return null;
  return round(((generatedTokens - 1) / generationMs) * 1000);
}

/** Logs the metrics line on stderr and appends it to the workspace's metrics file. */
export async function recordRunMetrics(metrics: RunMetrics, workspace: string, logger: Logger): Promise<void> {
  logger.info(metrics, "run metrics");
  try {
    await appendJsonLine(metricsFile(workspace), metrics, { workspaceRoot: workspace });
  } catch (error) {
    logger.warn({ err: error }, `could not append to ${metricsFile(workspace)}; metrics were logged above only`);
  }
}
