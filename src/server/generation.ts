import type { LlamaGrammar } from "node-llama-cpp";
import type { EmbeddedEngine } from "../backends/embedded/engine.js";
import type { ChatMessage, JsonSchema } from "../backends/types.js";
import { getLogger } from "../telemetry/logger.js";
import { HttpError } from "./http-io.js";
import { refuseByCountInSlices, refuseBySize } from "./prompt-size.js";
import type { ModelHost } from "./model-host.js";
import { TextBatcher } from "./text-batcher.js";
import { checkFit } from "../context-window/policy.js";

/** How often streamed text is sent after the first piece. */
const STREAM_FLUSH_MS = 20;

/** Sampling a request asks for; unset fields keep llama.cpp's defaults, as in the embedded backend. */
export interface RequestSampling {
  temperature?: number;
  topP?: number;
  topK?: number;
  repeatPenalty?: number;
  seed?: number;
  /** The most tokens to generate; undefined or ≤ 0 means "until the context window is full" (Ollama's -1). */
  numPredict?: number;
  /** A smaller context window than the server's, if the request asks for one. */
  numCtx?: number;
}

/** One generation request, whichever API it came from. */
export interface GenerationJob {
  messages: ChatMessage[];
  /** "json" for any JSON value, a JSON schema object, or undefined for free text. */
  format?: "json" | JsonSchema;
  sampling: RequestSampling;
  /** How long the model stays loaded after this request (undefined: the server's default). */
  keepAliveMs?: number;
  /** Aborted when the client disconnects: generation stops and the sequence is freed. */
  signal: AbortSignal;
  onText?: (text: string) => void;
}

/** How a generation ended, with Ollama's counters (durations in nanoseconds). */
export interface GenerationOutcome {
  text: string;
  doneReason: "stop" | "length";
  /** The client went away before the end. */
  aborted: boolean;
  promptTokens: number;
  generatedTokens: number;
  totalNs: number;
  loadNs: number;
  promptEvalNs: number;
  evalNs: number;
}

/**
 * Runs one generation on the served model: holds the engine (loading it if needed), constrains the
 * output to the requested format, refuses a prompt that does not fit instead of truncating it, and
 * measures what Ollama reports.
 */
export async function runGeneration(modelHost: ModelHost, job: GenerationJob): Promise<GenerationOutcome> {
  const started = performance.now();
  const window = contextWindow(job.sampling, modelHost.facts.contextSize);
  const room =
    window.context -
    (job.sampling.numPredict !== undefined && job.sampling.numPredict > 0 ? job.sampling.numPredict : 1);
  refuseBySize(job.messages, room, modelHost.facts.longestTokenBytes, window.limit);
  const lease = await modelHost.lease();
  try {
    const { engine } = lease;
    const grammar = await grammarFor(engine, job.format);
    await refuseByCountInSlices(engine.model, job.messages, room, window.limit);
    const promptTokens = await engine.countPromptTokens(job.messages);
    const maxTokens = answerBudget(promptTokens, job.sampling, engine.contextSize);
    const { sampling } = job;
    const batcher = job.onText ? new TextBatcher(job.onText, STREAM_FLUSH_MS) : undefined;
    const result = await engine.generate(job.messages, {
      grammar,
      sampling: {
        maxTokens,
        temperature: sampling.temperature,
        topP: sampling.topP,
        topK: sampling.topK,
        repeatPenalty: sampling.repeatPenalty,
        seed: sampling.seed,
      },
      signal: job.signal,
      onTextChunk: batcher ? (text) => batcher.push(text) : undefined,
    });
    batcher?.flush();
    const ms = result.metrics;
    if (result.stopReason === "abort" || job.signal.aborted) {
      getLogger().info(
        { generated_tokens: ms.generatedTokens, max_tokens: maxTokens },
        "client disconnected: generation stopped and its sequence freed",
      );
    }
    return {
      text: result.text,
      doneReason: result.stopReason === "length" ? "length" : "stop",
      aborted: result.stopReason === "abort" || job.signal.aborted,
      promptTokens,
      generatedTokens: ms.generatedTokens,
      totalNs: toNs(performance.now() - started),
      loadNs: toNs(lease.loadMs),
      promptEvalNs: toNs(ms.promptMs ?? 0),
      evalNs: toNs(ms.generationMs),
    };
  } finally {
    lease.release(job.keepAliveMs);
  }
}

/**
 * The answer's token budget. The prompt is never cut: when it (plus `num_predict`) does not fit the
 * window, the request fails with the numbers, where Ollama would truncate silently.
 */
function answerBudget(promptTokens: number, sampling: RequestSampling, serverContext: number): number {
  const { context, limit } = contextWindow(sampling, serverContext);
  const wanted =
    sampling.numPredict !== undefined && sampling.numPredict > 0 ? sampling.numPredict : context - promptTokens;
  if (wanted <= 0 || !checkFit(promptTokens, wanted, context).fits) {
    throw new HttpError(
      400,
      `the prompt (${promptTokens} tokens) plus num_predict (${sampling.numPredict !== undefined && sampling.numPredict > 0 ? sampling.numPredict : "at least 1"}) does not fit ${limit}; the prompt is not truncated. Shorten the prompt or lower num_predict.`,
    );
  }
  return wanted;
}

/** The window a request gets (its own smaller num_ctx, or the server's) and how to name it in errors. */
function contextWindow(sampling: RequestSampling, serverContext: number): { context: number; limit: string } {
  const context =
    sampling.numCtx !== undefined && sampling.numCtx > 0 ? Math.min(sampling.numCtx, serverContext) : serverContext;
  const limit =
    context < serverContext
      ? `the requested num_ctx of ${context}`
      : `the context window builder serve was started with (${serverContext}; raise it with --num-ctx)`;
  return { context, limit };
}

async function grammarFor(engine: EmbeddedEngine, format: GenerationJob["format"]): Promise<LlamaGrammar | undefined> {
  if (format === undefined) return undefined;
  if (format === "json") return engine.jsonGrammar();
  try {
    return await engine.grammarForSchema(format);
  } catch (error) {
    throw new HttpError(
      400,
      `invalid format: this JSON schema cannot be turned into a grammar: ${(error as Error).message}`,
    );
  }
}

function toNs(ms: number): number {
  return Math.round(ms * 1e6);
}

/** Options this server applies per request; the rest are fixed when it starts, or unsupported. */
const PER_REQUEST_OPTIONS = new Set([
  "temperature",
  "top_p",
  "top_k",
  "repeat_penalty",
  "seed",
  "num_predict",
  "num_ctx",
]);

/** Reads Ollama `options` into sampling, logging the options that have no effect here. */
export function samplingFromOllamaOptions(options: Record<string, unknown> | null | undefined): RequestSampling {
  if (!options) return {};
  const ignored = Object.keys(options).filter((key) => !PER_REQUEST_OPTIONS.has(key));
  if (ignored.length > 0) {
    getLogger().debug({ ignored }, "options not applied per request by builder serve (fixed at start, or unsupported)");
  }
  if (Array.isArray(options.stop) && options.stop.length > 0)
    getLogger().warn("stop sequences are not supported by builder serve and were ignored");
  const number = (key: string): number | undefined => (typeof options[key] === "number" ? options[key] : undefined);
  return {
    temperature: number("temperature"),
    topP: number("top_p"),
    topK: number("top_k"),
    repeatPenalty: number("repeat_penalty"),
    seed: number("seed"),
    numPredict: number("num_predict"),
    numCtx: number("num_ctx"),
  };
}
