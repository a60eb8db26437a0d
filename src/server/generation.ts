import type { LlamaGrammar } from "node-llama-cpp";
import type { EmbeddedEngine } from "../backends/embedded/engine.js";
import type { ChatMessage, GenerateResult, JsonSchema } from "../backends/types.js";
import { getLogger } from "../telemetry/logger.js";
import { HttpError } from "./http-io.js";
import { refuseByCountInSlices, refuseBySize } from "./prompt-size.js";
import type { HostedModel, LoadSettings, ModelHost } from "./model-host.js";
import { TextBatcher } from "./text-batcher.js";
import { checkFit } from "../window-size/policy.js";

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
  /** A GBNF grammar the answer must follow (llama.cpp server's `grammar`); wins over `format`. */
  grammar?: string;
  sampling: RequestSampling;
  /** Load settings the request names (`num_batch`, `num_thread`, `num_gpu`, `use_mmap`, `use_mlock`). */
  load?: LoadSettings;
  /** How long the model stays loaded after this request (undefined: the server's default). */
  keepAliveMs?: number;
  /** Who asks, for `builder ps` (the `X-Builder-Client` header). */
  client?: string;
  /**
   * The largest window this request may have (`builder serve --num-ctx`, on its TCP port): a larger
   * num_ctx gets this one, and never reloads the model beyond it. Undefined: a larger num_ctx reloads.
   */
  windowCap?: number;
  /** Aborted when the client disconnects: generation stops and the sequence is freed. */
  signal: AbortSignal;
  onText?: (text: string) => void;
}

/** How a generation ended, with Ollama's counters (durations in nanoseconds) and llama.cpp server's `timings`. */
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
  timings: Timings;
}

/**
 * llama.cpp server's `timings`: prompt tokens evaluated (`prompt_n`) and taken from memory or the
 * prefix cache instead (`cache_n`), answer tokens, and prompt-lookup drafts offered and accepted.
 */
export interface Timings {
  prompt_n: number;
  prompt_ms: number;
  cache_n: number;
  predicted_n: number;
  predicted_ms: number;
  predicted_per_second: number | null;
  /** Drafts offered and accepted (only with prompt-lookup speculative decoding on, as llama.cpp's server). */
  draft_n?: number;
  draft_n_accepted?: number;
  /** Builder's: drafting was switched off for this answer (too few drafts accepted). */
  draft_switched_off?: boolean;
}

/**
 * Runs one generation on a hosted model: holds a loaded copy whose window fits the request (loading
 * or reloading it if needed), constrains the output to the grammar or format, refuses a prompt that
 * does not fit instead of truncating it, and measures what Ollama and llama.cpp's server report.
 */
export async function runGeneration(
  modelHost: ModelHost,
  model: HostedModel,
  job: GenerationJob,
): Promise<GenerationOutcome> {
  const started = performance.now();
  const requested = positive(job.sampling.numCtx);
  const numCtx =
    requested !== undefined && job.windowCap !== undefined ? Math.min(requested, job.windowCap) : requested;
  // Before any load: a prompt too large for the window it asks for is refused by its size.
  if (model.facts && numCtx !== undefined) {
    const window = contextWindow(job.sampling, numCtx, job.windowCap);
    refuseBySize(job.messages, roomFor(window, job.sampling), model.facts.longestTokenBytes, window.limit);
  }
  const lease = await modelHost.lease(model, { numCtx, load: job.load, client: job.client });
  try {
    const { engine } = lease;
    const window = contextWindow(job.sampling, engine.contextSize, job.windowCap);
    const room = roomFor(window, job.sampling);
    refuseBySize(job.messages, room, model.facts?.longestTokenBytes ?? 1, window.limit);
    const grammar = await grammarFor(engine, job.format, job.grammar);
    await refuseByCountInSlices(engine.model, job.messages, room, window.limit);
    const promptTokens = await engine.countPromptTokens(job.messages);
    const maxTokens = answerBudget(promptTokens, job.sampling, window);
    const result = await generateOn(engine, job, grammar, maxTokens);
    return outcomeOf(result, { started, promptTokens, loadMs: lease.loadMs, aborted: job.signal.aborted });
  } finally {
    lease.release(job.keepAliveMs);
  }
}

async function generateOn(
  engine: EmbeddedEngine,
  job: GenerationJob,
  grammar: LlamaGrammar | undefined,
  maxTokens: number,
): Promise<GenerateResult> {
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
  if (result.stopReason === "abort" || job.signal.aborted) {
    getLogger().info(
      { generated_tokens: result.metrics.generatedTokens, max_tokens: maxTokens },
      "client disconnected: generation stopped and its sequence freed",
    );
  }
  return result;
}

function outcomeOf(
  result: GenerateResult,
  run: { started: number; promptTokens: number; loadMs: number; aborted: boolean },
): GenerationOutcome {
  const ms = result.metrics;
  const cached = Math.min(ms.cachedPrefixTokens ?? 0, run.promptTokens);
  const drafts = ms.draftTokens;
  return {
    text: result.text,
    doneReason: result.stopReason === "length" ? "length" : "stop",
    aborted: result.stopReason === "abort" || run.aborted,
    promptTokens: run.promptTokens,
    generatedTokens: ms.generatedTokens,
    totalNs: toNs(performance.now() - run.started),
    loadNs: toNs(run.loadMs),
    promptEvalNs: toNs(ms.promptMs ?? 0),
    evalNs: toNs(ms.generationMs),
    timings: {
      prompt_n: run.promptTokens - cached,
      prompt_ms: round(ms.promptMs ?? 0),
      cache_n: cached,
      predicted_n: ms.generatedTokens,
      predicted_ms: round(ms.generationMs),
      predicted_per_second: ms.generationMs > 0 ? round((ms.generatedTokens / ms.generationMs) * 1000) : null,
      ...(drafts
        ? {
            draft_n: drafts.validated + drafts.refuted,
            draft_n_accepted: drafts.validated,
            draft_switched_off: drafts.switchedOff,
          }
        : {}),
    },
  };
}

function positive(value: number | undefined): number | undefined {
  return value !== undefined && value > 0 ? value : undefined;
}

function roomFor(window: { context: number }, sampling: RequestSampling): number {
  return window.context - (sampling.numPredict !== undefined && sampling.numPredict > 0 ? sampling.numPredict : 1);
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * The answer's token budget. The prompt is never cut: when it (plus `num_predict`) does not fit the
 * window, the request fails with the numbers, where Ollama would truncate silently.
 */
function answerBudget(
  promptTokens: number,
  sampling: RequestSampling,
  { context, limit }: { context: number; limit: string },
): number {
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

/**
 * The window a request gets (its own num_ctx, else the loaded one; at most `cap`, builder serve's
 * --num-ctx on its port) and how to name it in errors.
 */
function contextWindow(
  sampling: RequestSampling,
  loadedContext: number,
  cap: number | undefined,
): { context: number; limit: string } {
  const requested = positive(sampling.numCtx);
  const most = cap !== undefined ? Math.min(loadedContext, cap) : loadedContext;
  const context = requested !== undefined ? Math.min(requested, most) : most;
  if (requested !== undefined && requested <= most) return { context, limit: `the requested num_ctx of ${context}` };
  if (cap !== undefined && context === cap)
    return { context, limit: `the context window builder serve was started with (${cap}; raise it with --num-ctx)` };
  return {
    context,
    limit: `the loaded context window (${context} tokens; ask for a larger one with options.num_ctx)`,
  };
}

async function grammarFor(
  engine: EmbeddedEngine,
  format: GenerationJob["format"],
  gbnf: string | undefined,
): Promise<LlamaGrammar | undefined> {
  if (gbnf !== undefined && gbnf !== "") {
    try {
      return await engine.grammarForText(gbnf);
    } catch (error) {
      throw new HttpError(400, `invalid grammar: llama.cpp cannot parse this GBNF: ${(error as Error).message}`);
    }
  }
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

/** Options this server applies per request (the load options, on the owner-only socket, reload the model when they differ); the rest are unsupported. */
const PER_REQUEST_OPTIONS = new Set([
  "temperature",
  "top_p",
  "top_k",
  "repeat_penalty",
  "seed",
  "num_predict",
  "num_ctx",
  "num_batch",
  "num_thread",
  "num_gpu",
  "use_mmap",
  "use_mlock",
]);

/** Reads Ollama `options` into sampling, logging the options that have no effect here. */
export function samplingFromOllamaOptions(options: Record<string, unknown> | null | undefined): RequestSampling {
  if (!options) return {};
  const ignored = Object.keys(options).filter((key) => !PER_REQUEST_OPTIONS.has(key));
  if (ignored.length > 0) {
    getLogger().debug({ ignored }, "options not supported by builder serve, ignored");
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

/**
 * Reads the load options of Ollama `options` (`num_gpu` is Ollama's name for the layers on the GPU). A
 * loaded copy with other values is reloaded with these once its running requests end.
 */
export function loadFromOllamaOptions(options: Record<string, unknown> | null | undefined): LoadSettings {
  if (!options) return {};
  const number = (key: string): number | undefined => (typeof options[key] === "number" ? options[key] : undefined);
  const flag = (key: string): boolean | undefined => (typeof options[key] === "boolean" ? options[key] : undefined);
  const load: LoadSettings = {
    numBatch: number("num_batch"),
    numThread: number("num_thread"),
    gpuLayers: number("num_gpu"),
    useMmap: flag("use_mmap"),
    useMlock: flag("use_mlock"),
  };
  return Object.fromEntries(Object.entries(load).filter(([, v]) => v !== undefined)) as LoadSettings;
}
