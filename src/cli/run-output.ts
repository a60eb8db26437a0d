import type { RunEvent, RunEventListener, RunResultEvent } from "../agent/events.js";
import { errorResultEvent } from "../agent/events.js";
import type { RunTaskResult } from "../agent/run-task.js";
import type { BuilderError } from "../errors/errors.js";
import type { RunMetrics } from "../telemetry/metrics.js";
import { AnswerStream } from "./answer-stream.js";
import { createGenerationProgress, type GenerationProgress } from "./run-progress.js";

/** What `builder run` prints on stdout: the suggestion object (default) or one JSON line per event. */
export type OutputFormat = "json" | "stream-json";

/** How one run's output is shaped. */
export interface RunOutputOptions {
  format: OutputFormat;
  /** `--stream`: the answer's text as it comes (on stderr; as `answer_text` events with stream-json). */
  streamText: boolean;
  /** Draw the generation's progress on stderr (a terminal; see {@link drawRunProgress}). */
  drawProgress: boolean;
  stdout?: Pick<NodeJS.WritableStream, "write">;
  stderr?: NodeJS.WritableStream;
}

/**
 * The events of one `builder run` turned into output: JSON lines on stdout (stream-json), the answer's
 * text on stderr (--stream), and the generation's progress on a terminal. One listener behind all three.
 */
export class RunOutput {
  private readonly stdout: Pick<NodeJS.WritableStream, "write">;
  private readonly text: AnswerStream | undefined;
  private readonly progress: GenerationProgress | undefined;

  constructor(private readonly options: RunOutputOptions) {
    this.stdout = options.stdout ?? process.stdout;
    const stderr = options.stderr ?? process.stderr;
    this.text = options.streamText && options.format === "json" ? new AnswerStream(stderr) : undefined;
    // The answer's text on the same stderr would break the progress line.
    this.progress = options.drawProgress && !options.streamText ? createGenerationProgress(stderr) : undefined;
  }

  /** The listener to pass to `runTask`. */
  readonly listener: RunEventListener = (event: RunEvent) => {
    this.progress?.onEvent(event);
    if (event.type === "answer_text") this.text?.chunk(event.text);
    if (event.type === "answer_restart") this.text?.restart(event.reason);
    if (this.options.format !== "stream-json") return;
    if ((event.type === "answer_text" || event.type === "answer_restart") && !this.options.streamText) return;
    this.line(event);
  };

  /** The run is over: the last line of streamed text, and the progress line removed. */
  end(): void {
    this.text?.end();
    this.progress?.stop();
  }

  /**
   * Whether the run's events are wanted at all: without them the backend is not asked to stream
   * (a resident engine then sends no text over its socket).
   */
  get wantsEvents(): boolean {
    return this.streaming || this.text !== undefined || this.progress !== undefined;
  }

  /** Whether stdout carries event lines (the result is then one of them). */
  get streaming(): boolean {
    return this.options.format === "stream-json";
  }

  /** The result: the last event line (stream-json), or the suggestion object, with the diff when asked (json). */
  printResult(result: RunTaskResult, extra: { diff?: string; applied?: Record<string, unknown> } = {}): void {
    const { suggestion } = result;
    if (this.streaming) {
      const event: RunResultEvent = {
        type: "result",
        ok: true,
        run_id: result.runId,
        verdict: suggestion.verification.verdict,
        suggestion,
        metrics: result.metrics,
        ...extra,
      };
      this.line(event);
      return;
    }
    const printed = extra.diff !== undefined ? { ...suggestion, diff: extra.diff } : suggestion;
    this.stdout.write(JSON.stringify(printed, null, 2) + "\n");
  }

  /** A failed run: its `result` line with the error (stream-json only; the error is logged on stderr as always). */
  printFailure(error: BuilderError, metrics?: RunMetrics): void {
    if (this.streaming) this.line(errorResultEvent(error, metrics));
  }

  private line(event: RunEvent): void {
    this.stdout.write(JSON.stringify(event) + "\n");
  }
}
