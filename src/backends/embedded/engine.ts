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

/** Options for {@link EmbeddedEngine.load}. */
export interface EmbeddedEngineOptions {
  model: string | undefined;
  modelCacheDir: string;
  gpu: BuilderConfig["gpu"];
  options: GenerationOptions;
  /** Parallel sequences in the context (`builder serve` uses several). Default 1. */
  sequences?: number;
  /** Where measured thread counts are cached. Default: next to the model cache. */
  calibrationFile?: string;
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
  private readonly grammars = new Map<string, Promise<LlamaGrammar>>();
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
  ) {}

  /** Resolves (downloads if needed) and loads the model, picks threads, creates the context. */
  static async load(options: EmbeddedEngineOptions): Promise<EmbeddedEngine> {
    const logger = getLogger();
    const modelPath = await resolveModelPath(options.model, { cacheDir: options.modelCacheDir });
    const started = performance.now();
    // loadModel parses the header with a reader that trusts its counts; an impossible one would hang it.
    await assertGgufHeaderBounded(modelPath);
    const llama = await getLlamaRuntime(options.gpu);
    let model: LlamaModel;
    try {
      model = await llama.loadModel({
        modelPath,
        gpuLayers: options.options.gpu_layers ?? "auto",
        useMmap: options.options.use_mmap,
        useMlock: options.options.use_mlock,
      });
    } catch (error) {
      throw new ModelError(
        "MODEL_LOAD_FAILED",
        `llama.cpp could not load ${modelPath}: ${(error as Error).message}. Check that it is a complete GGUF file (re-download it) and that it fits in memory.`,
        { model: modelPath },
        { cause: error },
      );
    }
    const modelLoadMs = performance.now() - started;

    let threads = options.options.num_thread;
    let calibrationMs = 0;
    if (threads === undefined) {
      const calibrationStart = performance.now();
      const calibrationFile = options.calibrationFile ?? path.join(path.dirname(options.modelCacheDir), "thread-calibration.json");
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
    const pool = new SequencePool(Array.from({ length: sequences }, () => context.getSequence()));
    logger.debug({ modelPath, loadMs: Math.round(loadMs), threads, contextSize, sequences }, "embedded engine loaded");
    return new EmbeddedEngine(llama, model, context, modelPath, threads, loadMs, calibrationMs, pool);
  }

  /** Context window per sequence, in tokens. */
  get contextSize(): number {
    return this.context.contextSize;
  }

  /** Where the model runs, for reports. */
  get device(): string {
    return describeDevice(this.llama, this.threads);
  }

  /** A grammar that constrains output to `schema` (cached per schema). */
  grammarForSchema(schema: JsonSchema): Promise<LlamaGrammar> {
    const key = JSON.stringify(schema);
    let grammar = this.grammars.get(key);
    if (!grammar) {
      // The schema is built at run time, so node-llama-cpp's compile-time schema typing cannot apply.
      const create = this.llama.createGrammarForJsonSchema.bind(this.llama) as (schema: GbnfJsonSchema) => Promise<LlamaGrammar>;
      grammar = create(schema as GbnfJsonSchema);
      this.grammars.set(key, grammar);
    }
    return grammar;
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
    return this.pool.use(async (sequence) => {
      const chat = this.chatFor(sequence);
      const history = toHistory(messages);
      const promptTokens = chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(this.model.tokenizer).length;
      const { sampling } = options;
      const started = performance.now();
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
          repeatPenalty: sampling.repeatPenalty && sampling.repeatPenalty !== 1 ? { penalty: sampling.repeatPenalty } : false,
          signal: options.signal,
          stopOnAbortSignal: true,
          onToken: (tokens) => {
            lastTokenAt = performance.now();
            firstTokenAt ??= lastTokenAt;
            generatedTokens += tokens.length;
          },
          onTextChunk: options.onTextChunk,
        });
      } catch (error) {
        if (options.signal?.aborted) {
          return { text: "", stopReason: "abort", metrics: { promptTokens, generatedTokens, generationMs: 0 } };
        }
        throw new GenerationError(`llama.cpp failed while generating: ${(error as Error).message}.`, {}, { cause: error });
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
        },
      };
    });
  }

  /** Frees the context and the model. */
  async dispose(): Promise<void> {
    await this.context.dispose();
    await this.model.dispose();
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
