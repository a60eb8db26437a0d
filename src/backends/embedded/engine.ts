import { stat } from "node:fs/promises";
import path from "node:path";
import { freemem } from "node:os";
import {
  LlamaChat,
  type ChatHistoryItem,
  type LLamaChatGenerateResponseOptions,
  type GbnfJsonSchema,
  type Llama,
  type LlamaContext,
  type LlamaContextSequence,
  type LlamaGrammar,
  type LlamaModel,
  type Token,
} from "node-llama-cpp";
import type { BuilderConfig } from "../../config/load.js";
import type { GenerationOptions } from "../../config/schema.js";
import { autoWindowCap, defaultContextSize } from "../../window-size/policy.js";
import { DEFAULT_OVERHEAD_BYTES, kvBytesPerToken } from "../../models/memory-estimate.js";
import { readGgufFacts } from "../../models/model-shape.js";
import { ModelError } from "../../errors/errors.js";
import { assertGgufHeaderBounded } from "../../models/gguf-header-check.js";
import { resolveModelPath } from "../../models/resolve-model.js";
import { getLogger } from "../../telemetry/logger.js";
import type {
  AcceleratorUsage,
  ChatMessage,
  GenerateResult,
  JsonSchema,
  SamplingOptions,
  StopReason,
} from "../types.js";
import { measureAccelerator, vramInUse } from "./accelerator.js";
import { loadProgressListener, type LoadProgressListener } from "./load-progress.js";
import { describeDevice, getLlamaRuntime } from "./llama-runtime.js";
import { chooseThreads } from "./thread-calibration.js";
import { SequencePool } from "./sequence-pool.js";
import { deviceSelection } from "./device-selection.js";
import { GrammarCache } from "./grammar-cache.js";
import { MIN_CACHED_PREFIX_TOKENS, PrefixCache, type EngineIdentity } from "./prefix-cache.js";
import { DraftWatch, SwitchablePromptLookup } from "./speculative.js";
import { retryOnCleanSequence } from "./engine-faults.js";

/** Options for {@link EmbeddedEngine.load}. */
export interface EmbeddedEngineOptions {
  model: string | undefined;
  modelCacheDir: string;
  gpu: BuilderConfig["gpu"];
  /** The one GPU to run on (config gpu_index); undefined: every visible GPU. */
  gpuIndex?: number;
  options: GenerationOptions;
  /** Parallel sequences in the context (`builder serve` uses several). Default 1. */
  sequences?: number;
  /** Where measured thread counts are cached. Default: next to the model cache. */
  calibrationFile?: string;
  /** Told how far loading and thread calibration got; default: the one the process set (setLoadProgressListener). */
  progress?: LoadProgressListener;
  /** The on-disk prefix cache (folder and size cap); undefined = off. */
  prefixCache?: { dir: string; maxBytes: number };
  /** Prompt-lookup speculative decoding on every sequence. Default false. */
  speculative?: boolean;
}

/** What one generation call takes besides the messages. */
export interface EngineGenerateOptions {
  grammar?: LlamaGrammar;
  sampling: SamplingOptions;
  signal?: AbortSignal;
  onTextChunk?: (text: string) => void;
}

/**
 * The in-process llama.cpp engine: one model and one context per process, loaded once, shared by
 * the embedded backend and by `builder serve`.
 */
export class EmbeddedEngine {
  private readonly grammars = new GrammarCache<LlamaGrammar>();
  private readonly chats = new WeakMap<LlamaContextSequence, LlamaChat>();
  private windowCap: Promise<number> | undefined;

  private constructor(
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly modelPath: string,
    readonly threads: number,
    private readonly timing: { loadMs: number; calibrationMs: number },
    /** Where the model runs: GPU names, layers offloaded, VRAM the load took (node-llama-cpp's own state). */
    readonly accelerator: AcceleratorUsage,
    private readonly pool: SequencePool,
    private readonly predictors: WeakMap<LlamaContextSequence, SwitchablePromptLookup>,
    private readonly prefixCache: PrefixCache | undefined,
    private readonly speculative: boolean,
  ) {}

  /** Resolves (downloads if needed) and loads the model, picks threads, creates the context. */
  static async load(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
    const progress = options.progress ?? loadProgressListener();
    try {
      return await EmbeddedEngine.loadReporting(options, progress);
    } finally {
      progress?.onDone?.();
    }
  }

  private static async loadReporting(
    options: EmbeddedEngineOptions,
    progress: LoadProgressListener | undefined,
  ): Promise<EmbeddedEngine> {
    const modelPath = await resolveModelPath(options.model, { cacheDir: options.modelCacheDir });
    const started = performance.now();
    // loadModel parses the header with a reader that trusts its counts; an impossible one would hang it.
    await assertGgufHeaderBounded(modelPath);
    const llama = await getLlamaRuntime(options.gpu, options.gpuIndex);
    const vramBefore = await vramInUse(llama);
    const model = await loadModelFile(llama, modelPath, options.options, progress);
    const modelLoadMs = performance.now() - started;
    const { threads, calibrationMs } = await pickThreads(llama, model, modelPath, options, progress);
    const contextStart = performance.now();
    const sequences = options.sequences ?? 1;
    const context = await createContext(model, options.options, threads, sequences);
    const loadMs = modelLoadMs + (performance.now() - contextStart);
    const { pool, predictors } = createSequences(context, sequences, options.speculative === true);
    const prefixCache = options.prefixCache
      ? new PrefixCache(
          options.prefixCache,
          await engineIdentity(modelPath, llama, model, context, { threads, sequences, gpuIndex: options.gpuIndex }),
        )
      : undefined;
    const accelerator = await measureAccelerator(llama, model, vramBefore);
    const loaded = { modelPath, loadMs: Math.round(loadMs), threads, contextSize: context.contextSize, sequences };
    const extras = { speculative: options.speculative === true, prefix_cache: options.prefixCache?.dir, accelerator };
    getLogger().debug({ ...loaded, ...extras }, "embedded engine loaded");
    const timing = { loadMs, calibrationMs };
    return new EmbeddedEngine(
      llama,
      model,
      context,
      modelPath,
      threads,
      timing,
      accelerator,
      pool,
      predictors,
      prefixCache,
      options.speculative === true,
    );
  }

  /** Milliseconds to load the runtime, the model and the context (thread calibration not included). */
  get loadMs(): number {
    return this.timing.loadMs;
  }

  /** Milliseconds spent measuring thread counts (0 when cached or configured). */
  get calibrationMs(): number {
    return this.timing.calibrationMs;
  }

  /** Context window per sequence, in tokens. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** Where the model runs, for reports. */
  get device(): string {
    return describeDevice(this.llama.gpu, this.threads, {
      onGpu: this.model.gpuLayers,
      total: this.model.fileInsights.totalLayers,
    });
  }

  /** A grammar that constrains output to `schema` (cached per schema). */
  grammarForSchema(schema: JsonSchema): Promise<LlamaGrammar> {
    // The schema is built at run time, so node-llama-cpp's compile-time schema typing cannot apply.
    const create = this.llama.createGrammarForJsonSchema.bind(this.llama) as (
      schema: GbnfJsonSchema,
    ) => Promise<LlamaGrammar>;
    return this.grammars.getOrCreate(`schema:${JSON.stringify(schema)}`, () => create(schema as GbnfJsonSchema));
  }

  /** A GBNF grammar (cached per text: repair rounds of one file reuse it). */
  grammarForText(gbnf: string): Promise<LlamaGrammar> {
    return this.grammars.getOrCreate(`gbnf:${gbnf}`, () => this.llama.createGrammar({ grammar: gbnf }));
  }

  /** A grammar for any JSON value (Ollama's `format: "json"`). */
  jsonGrammar(): Promise<LlamaGrammar> {
    return this.llama.getGrammarFor("json");
  }

  /** Exact number of tokens the rendered chat prompt takes, including the answer's opening. */
  async countPromptTokens(messages: ChatMessage[]): Promise<number> {
    // No sequence is taken: counting must not wait behind the generations of the Builder host's other requests.
    return this.tokenizeHistory(toHistory(messages)).length;
  }

  /**
   * Generates a reply to `messages` on a free sequence, measuring time to first token and speed. When
   * llama.cpp fails (a decode error, a failed state restore), the sequence is reset and the request
   * runs once more on the clean one; a second failure is an ENGINE_FAULT {@link EngineFaultError}.
   */
  async generate(messages: ChatMessage[], options: EngineGenerateOptions): Promise<GenerateResult> {
    const history = toHistory(messages);
    const promptTokenList = this.tokenizeHistory(history);
    // Once text went out to the caller, running again would send it twice: then the fault ends the request.
    let streamed = false;
    const onTextChunk = options.onTextChunk;
    const attemptOptions: EngineGenerateOptions = onTextChunk
      ? { ...options, onTextChunk: (text) => ((streamed = true), onTextChunk(text)) }
      : options;
    return this.pool.use(
      (sequence) =>
        retryOnCleanSequence(
          sequence,
          (current) => this.generateOn(current, messages, history, promptTokenList, attemptOptions),
          (failed) => this.resetSequence(failed),
          () => !streamed,
        ),
      // A resident engine's sequence that still holds this prompt's prefix is the one to reuse.
      (sequence) => sequence.compareContextTokens(promptTokenList).firstDifferentIndex,
    );
  }

  /**
   * Replaces a sequence llama.cpp failed on with a clean one. Disposing it erases every cell llama.cpp
   * holds for its id (node-llama-cpp's own erase only covers the tokens it knows of, and a failed
   * restore leaves it knowing none); the id comes back as a new sequence with its own predictor.
   */
  private async resetSequence(failed: LlamaContextSequence): Promise<LlamaContextSequence> {
    await failed.dispose();
    const fresh = newSequence(this.context, this.speculative, this.predictors);
    this.pool.replace(failed, fresh);
    return fresh;
  }

  private async generateOn(
    sequence: LlamaContextSequence,
    messages: ChatMessage[],
    history: ChatHistoryItem[],
    prompt: Token[],
    options: EngineGenerateOptions,
  ): Promise<GenerateResult> {
    const chat = this.chatFor(sequence);
    const started = performance.now();
    const cachedPrefixTokens = await this.warmPrefix(chat, sequence, messages, prompt);
    const drafts = new DraftWatch(sequence, this.predictors.get(sequence));
    const clock = new TokenClock();
    let response;
    try {
      response = await chat.generateResponse(history, {
        ...responseOptions(options),
        onToken: (tokens) => {
          clock.tick(tokens.length);
          drafts.check();
        },
      });
    } catch (error) {
      // Not aborted: llama.cpp failed; generate() resets the sequence and decides whether to retry.
      if (!options.signal?.aborted) throw error;
      const metrics = { promptTokens: prompt.length, generatedTokens: clock.generated, generationMs: 0 };
      return { text: "", stopReason: "abort", metrics: { ...metrics, cachedPrefixTokens } };
    }
    return {
      text: response.response,
      stopReason: toStopReason(response.metadata.stopReason),
      metrics: {
        ...clock.metrics(started, prompt.length),
        cachedPrefixTokens,
        ...(this.predictors.has(sequence)
          ? { draftTokens: { ...drafts.counts(), switchedOff: drafts.switchedOff } }
          : {}),
      },
    };
  }

  /**
   * Makes `sequence` hold the stable prefix (the system message) before the chat evaluates the rest:
   * already in memory (a resident engine's last run), restored from the prefix cache, or evaluated
   * and saved there for the next process. Returns how many prompt tokens were not evaluated again.
   */
  private async warmPrefix(
    chat: LlamaChat,
    sequence: LlamaContextSequence,
    messages: ChatMessage[],
    prompt: Token[],
  ): Promise<number> {
    const system = messages[0]?.role === "system" ? messages[0] : undefined;
    if (!system) return sequence.compareContextTokens(prompt).firstDifferentIndex;
    const systemOnly = chat.chatWrapper
      .generateContextState({ chatHistory: [{ type: "system", text: system.content }] })
      .contextText.tokenize(this.model.tokenizer);
    let length = 0;
    while (length < systemOnly.length && length < prompt.length && systemOnly[length] === prompt[length]) length++;
    const prefix = prompt.slice(0, length);
    const inMemory = sequence.compareContextTokens(prompt).firstDifferentIndex;
    if (inMemory >= prefix.length || !this.prefixCache || prefix.length < MIN_CACHED_PREFIX_TOKENS) return inMemory;
    if (await this.prefixCache.restore(sequence, prefix)) return prefix.length;
    await sequence.adaptStateToTokens(prefix, false);
    await sequence.evaluateWithoutGeneratingNewTokens(prefix.slice(sequence.nextTokenIndex));
    await this.prefixCache.save(sequence, prefix);
    return inMemory;
  }

  /**
   * The largest window this engine could open (`num_ctx: auto`'s cap): the model's trained context,
   * and the context whose KV cache fits the memory free beside the loaded model (GPU memory, or RAM
   * on the CPU), estimated as `doctor` does ({@link kvBytesPerToken} of the GGUF's shape, a margin).
   */
  autoWindowCap(): Promise<number> {
    // Once per engine: reading the GGUF's shape parses its header (150K vocabulary strings for Qwen).
    this.windowCap ??= this.measureWindowCap();
    return this.windowCap;
  }

  private async measureWindowCap(): Promise<number> {
    let memoryFit: number | undefined;
    try {
      const perToken = kvBytesPerToken(await readGgufFacts(this.modelPath)) * this.pool.sequences.length;
      const free = this.llama.gpu !== false ? (await this.llama.getVramState()).free : freemem();
      const room = free - DEFAULT_OVERHEAD_BYTES;
      if (perToken > 0) memoryFit = this.context.contextSize + Math.max(0, Math.floor(room / perToken));
    } catch (error) {
      getLogger().debug({ err: (error as Error).message }, "free memory unknown; auto window capped by the model only");
    }
    return autoWindowCap(this.model.trainContextSize, memoryFit);
  }

  /**
   * This engine's model with a new context of `contextSize` tokens per sequence; the model stays
   * loaded, this engine's context is freed (do not use this engine afterwards). A failure frees the
   * model too, as a failed load does.
   */
  async withContextSize(contextSize: number, options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
    const started = performance.now();
    const sequences = this.pool.sequences.length;
    await this.context.dispose();
    const context = await createContext(
      this.model,
      { ...options.options, num_ctx: contextSize },
      this.threads,
      sequences,
    );
    const { pool, predictors } = createSequences(context, sequences, options.speculative === true);
    const prefixCache = options.prefixCache
      ? new PrefixCache(
          options.prefixCache,
          await engineIdentity(this.modelPath, this.llama, this.model, context, {
            threads: this.threads,
            sequences,
            gpuIndex: options.gpuIndex,
          }),
        )
      : undefined;
    getLogger().debug({ from: this.contextSize, to: context.contextSize }, "embedded engine: context resized");
    const timing = {
      loadMs: this.timing.loadMs + (performance.now() - started),
      calibrationMs: this.timing.calibrationMs,
    };
    return new EmbeddedEngine(
      this.llama,
      this.model,
      context,
      this.modelPath,
      this.threads,
      timing,
      this.accelerator,
      pool,
      predictors,
      prefixCache,
      options.speculative === true,
    );
  }

  /** Frees the context and the model. */
  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
  }

  /** The rendered prompt's tokens (every sequence's chat has the same wrapper: the model's). */
  private tokenizeHistory(history: ChatHistoryItem[]): Token[] {
    const chat = this.chatFor(this.pool.sequences[0]);
    return chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(this.model.tokenizer);
  }

  private chatFor(sequence: LlamaContextSequence): LlamaChat {
    let chat = this.chats.get(sequence);
    if (!chat) {
      chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
      this.chats.set(sequence, chat);
    }
    return chat;
  }
}

/** The configured thread count, else the measured one (cached per machine and model). */
async function pickThreads(
  llama: Llama,
  model: LlamaModel,
  modelPath: string,
  options: EmbeddedEngineOptions,
  progress: LoadProgressListener | undefined,
): Promise<{ threads: number; calibrationMs: number }> {
  const configured = options.options.num_thread;
  if (configured !== undefined) return { threads: configured, calibrationMs: 0 };
  const started = performance.now();
  const calibrationFile =
    options.calibrationFile ?? path.join(path.dirname(options.modelCacheDir), "thread-calibration.json");
  const onStep = progress?.onCalibration ? progress.onCalibration.bind(progress) : undefined;
  const { threads } = await chooseThreads(llama, model, modelPath, calibrationFile, onStep);
  return { threads, calibrationMs: performance.now() - started };
}

/** The context at num_ctx (or the default window); a failure frees the model and says what to lower. */
async function createContext(
  model: LlamaModel,
  options: GenerationOptions,
  threads: number,
  sequences: number,
): Promise<LlamaContext> {
  const contextSize = options.num_ctx ?? defaultContextSize(model.trainContextSize);
  try {
    return await model.createContext({ contextSize, threads, batchSize: options.num_batch, sequences });
  } catch (error) {
    await model.dispose();
    throw new ModelError(
      "MODEL_LOAD_FAILED",
      `llama.cpp could not create a ${contextSize}-token context: ${(error as Error).message}. Lower options.num_ctx or gpu_layers.`,
      { num_ctx: contextSize },
      { cause: error },
    );
  }
}

/** One sequence per parallel run, each with its own prompt-lookup predictor when speculative decoding is on. */
function createSequences(
  context: LlamaContext,
  sequences: number,
  speculative: boolean,
): { pool: SequencePool; predictors: WeakMap<LlamaContextSequence, SwitchablePromptLookup> } {
  const predictors = new WeakMap<LlamaContextSequence, SwitchablePromptLookup>();
  const pool = new SequencePool(Array.from({ length: sequences }, () => newSequence(context, speculative, predictors)));
  return { pool, predictors };
}

/** A sequence of the context (a free id), with its own prompt-lookup predictor when speculative decoding is on. */
function newSequence(
  context: LlamaContext,
  speculative: boolean,
  predictors: WeakMap<LlamaContextSequence, SwitchablePromptLookup>,
): LlamaContextSequence {
  const predictor = speculative ? new SwitchablePromptLookup() : undefined;
  const sequence = context.getSequence({ tokenPredictor: predictor });
  if (predictor) predictors.set(sequence, predictor);
  return sequence;
}

/** Loads the GGUF file with llama.cpp; a failure becomes a MODEL_LOAD_FAILED {@link ModelError}. */
async function loadModelFile(
  llama: Llama,
  modelPath: string,
  options: GenerationOptions,
  progress?: LoadProgressListener,
): Promise<LlamaModel> {
  try {
    return await llama.loadModel({
      modelPath,
      gpuLayers: options.gpu_layers ?? "auto",
      useMmap: options.use_mmap,
      useMlock: options.use_mlock,
      onLoadProgress: progress?.onModelLoad ? (fraction) => progress.onModelLoad?.(fraction) : undefined,
    });
  } catch (error) {
    throw new ModelError(
      "MODEL_LOAD_FAILED",
      `llama.cpp could not load ${modelPath}: ${(error as Error).message}. Check that it is a complete GGUF file (re-download it) and that it fits in memory.`,
      { model: modelPath },
      { cause: error },
    );
  }
}

/** node-llama-cpp's generation options for Builder's sampling, grammar and abort signal. */
function responseOptions(options: EngineGenerateOptions): LLamaChatGenerateResponseOptions<undefined> {
  const { sampling } = options;
  return {
    grammar: options.grammar,
    maxTokens: sampling.maxTokens,
    temperature: sampling.temperature,
    topK: sampling.topK,
    topP: sampling.topP,
    seed: sampling.seed,
    repeatPenalty: sampling.repeatPenalty && sampling.repeatPenalty !== 1 ? { penalty: sampling.repeatPenalty } : false,
    signal: options.signal,
    stopOnAbortSignal: true,
    onTextChunk: options.onTextChunk,
  };
}

/** When the first and the last answer token came, and how many there were. */
class TokenClock {
  generated = 0;
  private firstAt: number | undefined;
  private lastAt = 0;

  tick(tokens: number): void {
    this.lastAt = performance.now();
    this.firstAt ??= this.lastAt;
    this.generated += tokens;
  }

  /** The generation's counters; `started` is when the request began (before the prompt was evaluated). */
  metrics(started: number, promptTokens: number): GenerateResult["metrics"] {
    const ttft = this.firstAt !== undefined ? this.firstAt - started : undefined;
    return {
      promptTokens,
      promptMs: ttft,
      timeToFirstTokenMs: ttft,
      generatedTokens: this.generated,
      // First to last token: the speed of generation itself; what follows the last token is in total_ms.
      generationMs: this.firstAt !== undefined ? this.lastAt - this.firstAt : 0,
    };
  }
}

/** Converts Builder's messages into node-llama-cpp's history, ending with the model's (empty) turn. */
function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map((message) => {
    if (message.role === "system") return { type: "system", text: message.content };
    if (message.role === "user") return { type: "user", text: message.content };
    return { type: "model", response: [message.content] };
  });
  history.push({ type: "model", response: [] });
  return history;
}

function toStopReason(reason: string): StopReason {
  if (reason === "maxTokens") return "length";
  if (reason === "abort") return "abort";
  return "stop";
}

/**
 * What identifies a saved prefix state: the model file, everything that changes the state's layout
 * (sequence count, context size, flash attention, KV cache types) or its contents (batch, threads,
 * devices, GPU layers), and the llama.cpp build.
 */
async function engineIdentity(
  modelPath: string,
  llama: Llama,
  model: LlamaModel,
  context: LlamaContext,
  engine: { threads: number; sequences: number; gpuIndex: number | undefined },
): Promise<EngineIdentity> {
  const file = await stat(modelPath);
  const release = llama.llamaCppRelease;
  return {
    modelPath,
    modelSize: file.size,
    modelMtimeMs: file.mtimeMs,
    contextSize: context.contextSize,
    sequences: engine.sequences,
    flashAttention: String(context.flashAttention),
    kvCacheTypes: `${context.kvCacheKeyType}/${context.kvCacheValueType}`,
    batchSize: context.batchSize,
    threads: engine.threads,
    gpu: String(llama.gpu),
    devices: deviceSelection(engine.gpuIndex),
    gpuLayers: model.gpuLayers,
    llamaCpp: `${release.repo}@${release.release}/${llama.buildType}`,
  };
}
