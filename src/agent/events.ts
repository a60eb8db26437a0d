import type { ContextExplanation } from "../context/assemble.js";
import type { BuilderError } from "../errors/errors.js";
import type { CodeSuggestion } from "../task/schema.js";
import type { RunMetrics } from "../telemetry/metrics.js";
import type { CheckResult } from "../verify/types.js";
import type { SuggestionApplyResult } from "../workspace/suggestion-apply.js";

/**
 * What a run reports while it goes, in order: one model behind `builder run --output-format
 * stream-json` (one JSON line each), the MCP server's progress notifications, `--stream`, and the
 * progress drawn on a terminal. Field names are snake_case, as in the metrics lines. `round` is 0 for
 * the first answer and n for the n-th repair round.
 */
export type RunEvent =
  /** The run began: the task is valid and its knowledge is read. */
  | { type: "started"; run_id: string; task_id: string; backend: string; model: string }
  /** The model is being loaded or connected to; `fraction` (0..1) when the engine tells how far it got. */
  | { type: "model_loading"; fraction?: number }
  /** The model is ready: where it runs, its window, and the load time in this process (0 for servers). */
  | { type: "model_loaded"; backend: string; model: string; device: string; context_size: number; load_ms: number }
  /** The prompt is assembled: its token count, the window, what was reserved for the answer, each part's tokens. */
  | {
      type: "context";
      prompt_tokens: number;
      context_size: number;
      reserved_for_answer: number;
      exact: boolean;
      parts: Array<{ kind: string; label: string; tokens: number; included: boolean }>;
    }
  /** The first piece of the answer arrived, `ms` after the generation was asked for. */
  | { type: "first_token"; round: number; ms: number }
  /**
   * The answer so far: `tokens` counts the pieces of text streamed (about one per token; the
   * `generated` event has the exact count), with the rate since the first one.
   */
  | { type: "generating"; round: number; tokens: number; elapsed_ms: number; tokens_per_sec: number | null }
  /** A piece of the answer's text (only to listeners that asked for text: `--stream`). */
  | { type: "answer_text"; round: number; text: string }
  /** The text streamed so far is discarded and the answer starts again (its engine died mid-answer). */
  | { type: "answer_restart"; round: number; reason: string }
  /** The generation ended: the exact token count as the backend reports it, and why it stopped. */
  | { type: "generated"; round: number; tokens: number; stop_reason: string; tokens_per_sec: number | null }
  /** One verification check of a round's answer. */
  | { type: "check"; round: number; name: string; status: CheckResult["status"]; duration_ms: number; summary: string }
  /** A repair round begins: the previous answer's failed checks go back to the model. */
  | { type: "repair"; round: number; failed_checks: string[] }
  /** The last event: the suggestion (with what was applied or the diff, when asked) or the error. */
  | RunResultEvent;

/** The `result` event, always the last one of a run. */
export type RunResultEvent =
  | {
      type: "result";
      ok: true;
      run_id: string;
      verdict: string;
      suggestion: CodeSuggestion;
      metrics: RunMetrics;
      /** With `--dry-run`: the unified diff of the suggestion (nothing was written). */
      diff?: string;
      /** With `--apply`: the files written (see {@link appliedSummary}). */
      applied?: Record<string, unknown>;
    }
  | {
      type: "result";
      ok: false;
      error: { code: string; message: string; details: Record<string, unknown> };
      metrics?: RunMetrics;
    };

/** Receives every event of a run, in order. A listener must not throw (what it throws is logged and dropped). */
export type RunEventListener = (event: RunEvent) => void;

/** The `context` event of an assembled prompt (the parts without their text). */
export function contextEvent(explanation: ContextExplanation): RunEvent {
  return {
    type: "context",
    prompt_tokens: explanation.prompt_tokens,
    context_size: explanation.context_size,
    reserved_for_answer: explanation.reserved_for_answer,
    exact: explanation.exact,
    parts: explanation.parts.map((p) => ({ kind: p.kind, label: p.label, tokens: p.tokens, included: p.included })),
  };
}

/** The failed `result` event of an error. */
export function errorResultEvent(error: BuilderError, metrics?: RunMetrics): RunResultEvent {
  return { type: "result", ok: false, error: error.toJSON().error, ...(metrics ? { metrics } : {}) };
}

/** The files an apply wrote, as the `applied` field of a result: what `builder apply` prints. */
export function appliedSummary(result: SuggestionApplyResult): Record<string, unknown> {
  return {
    run_id: result.runId,
    files: result.files,
    backup_dir: result.backupDir ?? null,
    test_path: result.testPath ?? null,
  };
}

/** How often a `generating` event is sent at most: often enough for a live count, rare enough for a pipe. */
export const GENERATING_INTERVAL_MS = 250;

/**
 * Turns one generation's streamed text into events: `first_token`, then `generating` at most every
 * {@link GENERATING_INTERVAL_MS}, and `answer_text` / `answer_restart` for every piece.
 */
export class GenerationTracker {
  private readonly asked = performance.now();
  private first: number | undefined;
  private lastSent = 0;
  private pieces = 0;

  constructor(
    private readonly round: number,
    private readonly emit: RunEventListener,
  ) {}

  /** A piece of answer text arrived. */
  chunk(text: string): void {
    const now = performance.now();
    this.pieces++;
    if (this.first === undefined) {
      this.first = now;
      this.lastSent = now;
      this.emit({ type: "first_token", round: this.round, ms: Math.round(now - this.asked) });
    } else if (now - this.lastSent >= GENERATING_INTERVAL_MS) {
      this.lastSent = now;
      const elapsed = now - this.first;
      this.emit({
        type: "generating",
        round: this.round,
        tokens: this.pieces,
        elapsed_ms: Math.round(elapsed),
        tokens_per_sec: elapsed > 0 ? Math.round(((this.pieces - 1) / elapsed) * 10_000) / 10 : null,
      });
    }
    this.emit({ type: "answer_text", round: this.round, text });
  }

  /** The answer restarts from nothing. */
  restart(reason: string): void {
    this.pieces = 0;
    this.first = undefined;
    this.emit({ type: "answer_restart", round: this.round, reason });
  }
}

/** A one-line human summary of an event, for progress messages (MCP) and logs. */
export function describeEvent(event: RunEvent): string {
  switch (event.type) {
    case "started":
      return `started ${event.task_id} on ${event.backend} ${event.model}`;
    case "model_loading":
      return event.fraction === undefined
        ? "loading the model"
        : `loading the model: ${Math.round(event.fraction * 100)}%`;
    case "model_loaded":
      return `model ready on ${event.device} (window ${event.context_size} tokens)`;
    case "context":
      return `prompt assembled: ${event.prompt_tokens} of ${event.context_size} tokens`;
    case "first_token":
      return `round ${event.round}: first token after ${event.ms} ms`;
    case "generating":
      return `round ${event.round}: ${event.tokens} tokens${event.tokens_per_sec !== null ? ` at ${event.tokens_per_sec} tok/s` : ""}`;
    case "answer_text":
      return `round ${event.round}: text`;
    case "answer_restart":
      return `round ${event.round}: answer restarted (${event.reason})`;
    case "generated":
      return `round ${event.round}: ${event.tokens} tokens generated (${event.stop_reason})`;
    case "check":
      return `round ${event.round}: check ${event.name} ${event.status}`;
    case "repair":
      return `repair round ${event.round}: failed ${event.failed_checks.join(", ")}`;
    case "result":
      return event.ok ? `done: ${event.verdict}` : `failed: ${event.error.code}`;
  }
}
