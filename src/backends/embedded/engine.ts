import { stat } from "node:fs/promises";
import path from "node:path";
import {
  LlamaChat,
  type ChatHistoryItem,
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
import { defaultContextSize } from "../../context-window/policy.js";
import { GenerationError, ModelError } from "../../errors/errors.js";
import { assertGgufHeaderBounded } from "../../models/gguf-header-check.js";
import { resolveModelPath } from "../../models/resolve-model.js";
import { getLogger } from "../../telemetry/logger.js";
import type { ChatMessage, GenerateResult, JsonSchema, SamplingOptions, StopReason } from "../types.js";
import { describeDevice, getLlamaRuntime } from "./llama-runtime.js";
import { chooseThreads } from "./thread-calibration.js";
import { SequencePool } from "./sequence-pool.js";
import { deviceSelection } from "./device-selection.js";
import { GrammarCache } from "./grammar-cache.js";
import { MIN_CACHED_PREFIX_TOKENS, PrefixCache, type EngineIdentity } from "./prefix-cache.js";
import { DraftWatch, SwitchablePromptLookup } from "./speculative.js";

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

  private constructor(
    readonly llama: Llama,
    readonly model: LlamaModel,
    readonly context: LlamaContext,
    readonly modelPath: string,
    readonly threads: number,
    /** Milliseconds to load the runtime, the model and the context (thread calibration not included). */
    readonly loadMs: number,
    /** Milliseconds spent measuring thread counts (0 when cached or configured). */
    readonly calibrationMs: number,
    private readonly pool: SequencePool,
    private readonly predictors: WeakMap<LlamaContextSequence, SwitchablePromptLookup>,
    private readonly prefixCache: PrefixCache | undefined,
  ) {}

  /** Resolves (downloads if needed) and loads the model, picks threads, creates the context. */
  static async load(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
    const logger = getLogger();
    const modelPath = await resolveModelPath(options.model, { cacheDir: options.modelCacheDir });
    const started = performance.now();
    // loadModel parses the header with a reader that trusts its counts; an impossible one would hang it.
    await assertGgufHeaderBounded(modelPath);
    const llama = await getLlamaRuntime(options.gpu, options.gpuIndex);
    const model = await loadModelFile(llama, modelPath, options.options);
    const modelLoadMs = performance.now() - started;

    let threads = options.options.num_thread;
    let calibrationMs = 0;
    if (threads === undefined) {
      const calibrationStart = performance.now();
      const calibrationFile =
        options.calibrationFile ?? path.join(path.dirname(options.modelCacheDir), "thread-calibration.json");
      threads = (await chooseThreads(llama, model, modelPath, calibrationFile)).threads;
      calibrationMs = performance.now() - calibrationStart;
    }

    const contextStart = performance.now();
    const contextSize = options.options.num_ctx ?? defaultContextSize(model.trainContextSize);
    const sequences = options.sequences ?? 1;
    let context: LlamaContext;
    try {
      context = await model.createContext({ contextSize, threads, batchSize: options.options.num_batch, sequences });
    } catch (error) {
      await model.dispose();
      throw new ModelError(
        "MODEL_LOAD_FAILED",
        `llama.cpp could not create a ${contextSize}-token context: ${(error as Error).message}. Lower options.num_ctx or gpu_layers.`,
        { num_ctx: contextSize },
        { cause: error },
      );
    }
    const loadMs = modelLoadMs + (performance.now() - contextStart);
    const predictors = new WeakMap<LlamaContextSequence, SwitchablePromptLookup>();
    const pool = new SequencePool(
      Array.from({ length: sequences }, () => {
        const predictor = options.speculative ? new SwitchablePromptLookup() : undefined;
        const sequence = context.getSequence({ tokenPredictor: predictor });
        if (predictor) predictors.set(sequence, predictor);
        return sequence;
      }),
    );
    const prefixCache = options.prefixCache
      ? new PrefixCache(
          options.prefixCache,
          await engineIdentity(modelPath, llama, model, context, threads, options.gpuIndex),
        )
      : undefined;
    logger.debug(
      {
        modelPath,
        loadMs: Math.round(loadMs),
        threads,
        contextSize,
        sequences,
        speculative: options.speculative === true,
        prefix_cache: options.prefixCache?.dir,
      },
      "embedded engine loaded",
    );
    return new EmbeddedEngine(
      llama,
      model,
      context,
      modelPath,
      threads,
      loadMs,
      calibrationMs,
      pool,
      predictors,
      prefixCache,
    );
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
    return this.pool.use(async (sequence) => {
      const chat = this.chatFor(sequence);
      const { contextText } = chat.chatWrapper.generateContextState({ chatHistory: toHistory(messages) });
      return contextText.tokenize(this.model.tokenizer).length;
    });
  }

  /** Generates a reply to `messages` on a free sequence, measuring time to first token and speed. */
  async generate(messages: ChatMessage[], options: EngineGenerateOptions): Promise<GenerateResult> {
    const history = toHistory(messages);
    const promptTokenList = this.tokenizeHistory(history);
    const promptTokens = promptTokenList.length;
    return this.pool.use(
      async (sequence) => {
        const chat = this.chatFor(sequence);
        const { sampling } = options;
        const started = performance.now();
        const cachedPrefixTokens = await this.warmPrefix(chat, sequence, messages, promptTokenList);
        const drafts = new DraftWatch(sequence, this.predictors.get(sequence));
        let firstTokenAt: number | undefined;
        let lastTokenAt = 0;
        let generatedTokens = 0;
        let response;
        try {
          response = await chat.generateResponse(history, {
            grammar: options.grammar,
            maxTokens: sampling.maxTokens,
            temperature: sampling.temperature,
            topK: sampling.topK,
            topP: sampling.topP,
            seed: sampling.seed,
            repeatPenalty:
              sampling.repeatPenalty && sampling.repeatPenalty !== 1 ? { penalty: sampling.repeatPenalty } : false,
            signal: options.signal,
            stopOnAbortSignal: true,
            onToken: (tokens) => {
              lastTokenAt = performance.now();
              firstTokenAt ??= lastTokenAt;
              generatedTokens += tokens.length;
              drafts.check();
            },
            onTextChunk: options.onTextChunk,
          });
        } catch (error) {
          if (options.signal?.aborted) {
            return {
              text: "",
              stopReason: "abort",
              metrics: { promptTokens, generatedTokens, generationMs: 0, cachedPrefixTokens },
            };
          }
          throw new GenerationError(
            `llama.cpp failed while generating: ${(error as Error).message}.`,
            {},
            { cause: error },
          );
        }
        const ttft = firstTokenAt !== undefined ? firstTokenAt - started : undefined;
        return {
          text: response.response,
          stopReason: toStopReason(response.metadata.stopReason),
          metrics: {
            promptTokens,
            promptMs: ttft,
            timeToFirstTokenMs: ttft,
            generatedTokens,
            // First to last token: the speed of generation itself; what follows the last token is in total_ms.
            generationMs: firstTokenAt !== undefined ? lastTokenAt - firstTokenAt : 0,
            cachedPrefixTokens,
            ...(this.predictors.has(sequence)
              ? { draftTokens: { ...drafts.counts(), switchedOff: drafts.switchedOff } }
              : {}),
          },
        };
        // A resident engine's sequence that still holds this prompt's prefix is the one to reuse.
      },
      (sequence) => sequence.compareContextTokens(promptTokenList).firstDifferentIndex,
    );
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

/** Loads the GGUF file with llama.cpp; a failure becomes a MODEL_LOAD_FAILED {@link ModelError}. */
async function loadModelFile(llama: Llama, modelPath: string, options: GenerationOptions): Promise<LlamaModel> {
  try {
    return await llama.loadModel({
      modelPath,
      gpuLayers: options.gpu_layers ?? "auto",
      useMmap: options.use_mmap,
      useMlock: options.use_mlock,
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

/** What identifies a saved prefix state: the model file, the engine settings and the llama.cpp build. */
async function engineIdentity(
  modelPath: string,
  llama: Llama,
  model: LlamaModel,
  context: LlamaContext,
  threads: number,
  gpuIndex: number | undefined,
): Promise<EngineIdentity> {
  const file = await stat(modelPath);
  const release = llama.llamaCppRelease;
  return {
    modelPath,
    modelSize: file.size,
    modelMtimeMs: file.mtimeMs,
    contextSize: context.contextSize,
    batchSize: context.batchSize,
    threads,
    gpu: String(llama.gpu),
    devices: deviceSelection(gpuIndex),
    gpuLayers: model.gpuLayers,
    llamaCpp: `${release.repo}@${release.release}/${llama.buildType}`,
  };
}
