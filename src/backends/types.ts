import type { BuilderConfig } from "../config/load.js";
import type { BackendName } from "../config/schema.js";
import type { BackendCapabilities } from "./descriptors.js";

/**
 * The part of the configuration a backend reads: which backend and model, the generation options, the
 * engine's GPU and host settings, the model cache and the servers. A component that creates a backend
 * passes this slice, never more.
 */
export type BackendConfig = Pick<
  BuilderConfig,
  "backend" | "model" | "options" | "gpu" | "gpuIndex" | "engine" | "modelCacheDir" | "ollama" | "openai"
>;

/** One chat message. Builder keeps the stable priming in the first (system) message. */
export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** A JSON schema object the backend constrains the answer to. */
export type JsonSchema = Record<string, unknown>;

/** Sampling and length settings for one request, already resolved (no "unset" left for the budget). */
export interface SamplingOptions {
  /** The most tokens the answer may use. */
  maxTokens: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  repeatPenalty?: number;
  seed?: number;
}

/** What the caller asks: messages, the answer's constraint (a JSON schema or a GBNF grammar), and how to sample. */
export interface GenerateRequest {
  messages: ChatMessage[];
  /** The answer's JSON schema (backends that take only a schema); absent with `grammar` or for free text. */
  schema?: JsonSchema;
  /** A GBNF grammar for the answer's text (the embedded engine; llama.cpp's server as the `grammar` field). Plain data, so a request can be forwarded. */
  grammar?: string;
  sampling: SamplingOptions;
  signal?: AbortSignal;
  /** Called with each piece of answer text as it is generated. */
  onTextChunk?: (text: string) => void;
  /**
   * Called when the text streamed so far is discarded and the answer is generated again from the start
   * (the Builder host died mid-answer and the run goes on in-process): what follows is the whole answer.
   * Without it, a restarted answer is not streamed again.
   */
  onRestart?: (reason: string) => void;
}

/** Why generation ended: the model finished, it hit `maxTokens`, or the caller aborted. */
export type StopReason = "stop" | "length" | "abort";

/** Counters for one generation, measured by Builder or reported by the server. */
export interface GenerationMetrics {
  promptTokens: number;
  /** Time spent evaluating the prompt, when the backend can tell it apart. */
  promptMs?: number;
  timeToFirstTokenMs?: number;
  generatedTokens: number;
  /** Time spent generating answer tokens (after the first token is ready). */
  generationMs: number;
  /** Model load time included in this request (servers that load on demand report it). */
  loadMs?: number;
  /** Embedded backend: where this generation ran (a run on the Builder host can fail over to in-process mid-run). */
  ranIn?: "host" | "in-process";
  /** Prompt tokens not evaluated again: held in memory by the Builder host or restored from the prefix cache. */
  cachedPrefixTokens?: number;
  /** Prompt-lookup speculative decoding: drafts validated and refuted, and whether it was switched off for low acceptance. */
  draftTokens?: { validated: number; refuted: number; switchedOff: boolean };
}

/** How a provider answered. */
export interface GenerateResult {
  text: string;
  stopReason: StopReason;
  metrics: GenerationMetrics;
}

/**
 * Where the model's layers and memory are, as the engine or the server reports it. A field left out
 * is one the source does not report; the report says so rather than guess.
 */
export interface AcceleratorUsage {
  /** Who reports these figures ("llama.cpp", "Ollama /api/ps"), named in the report. */
  source: string;
  /** The GPUs the model runs on; empty: it runs on the CPU. */
  gpuNames?: string[];
  /** Layers offloaded to the GPU, out of the model's total. */
  layers?: { onGpu: number; total: number };
  /** Bytes of GPU memory the model takes (0: none). */
  vramBytes?: number;
  /** Bytes the loaded model takes in all (Ollama's `size`), to tell the share in VRAM. */
  totalBytes?: number;
}

/** Who set the context window in effect: the engine that created it, the server that reports it, or only Builder's request. */
export type ContextOrigin = "engine" | "server" | "requested";

/** What a backend tells about itself after `prepare()`, for budgets and reports. */
export interface BackendInfo {
  /** The backend's name, to print; what it can do is in `capabilities`. */
  backend: BackendName;
  /** What this backend can do (its kind's, see `describeBackend`): callers decide on these, never on the name. */
  capabilities: BackendCapabilities;
  model: string;
  /**
   * Context window in tokens: the one in effect when the engine or server tells it (a server
   * backend learns it after the first generation, when the server has loaded the model).
   */
  contextSize: number;
  /** Where `contextSize` comes from; undefined: Builder's own setting. */
  contextOrigin?: ContextOrigin;
  /** The num_ctx Builder asked for (config, flag or default), when it may differ from the one in effect. */
  requestedContextSize?: number;
  /** The window the server allows, when it tells one larger than the num_ctx Builder keeps to. */
  serverContextSize?: number;
  /**
   * `num_ctx: auto` on a backend that can choose its window: the largest it may open (the model's
   * trained context, the card's free memory, 128K). The run assembles its prompt against this, then
   * asks {@link Backend.fitWindow} for the smallest bucket that holds it. Undefined: the window is
   * fixed (a configured num_ctx, or one the server decides).
   */
  autoWindowCap?: number;
  /** GPU name, layers and VRAM as reported; undefined: not reported at all. */
  accelerator?: AcceleratorUsage;
  /** Human description of where the model runs ("CPU, 1 thread", "NVIDIA …", "ollama at http://…"). */
  device: string;
  /** Milliseconds spent loading the model in this process (0 for servers). */
  loadMs: number;
  /** Threads used for generation, when the backend controls them. */
  threads?: number;
  /** Bytes of memory the model occupies, when known. */
  memoryBytes?: number;
  /** The pid of the Builder host process that holds the model, when not this process. */
  hostPid?: number;
}

/**
 * A model provider. The agent loop talks only to this interface; the embedded engine, Ollama and
 * OpenAI-compatible servers implement it.
 */
export interface Backend {
  /** Loads or connects; idempotent. */
  prepare(): Promise<BackendInfo>;
  /** Exact token count of the rendered prompt when the backend has the tokenizer, else a conservative estimate. */
  countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }>;
  generate(request: GenerateRequest): Promise<GenerateResult>;
  /**
   * `num_ctx: auto`: makes the window hold `neededTokens` (prompt plus the answer's reserve), as the
   * smallest bucket that does (`chooseWindow` in the window-size policy); a model already holding a window at least that
   * large keeps it (no reload). Returns the info with the window now in effect. Only called when
   * `prepare()` told an `autoWindowCap`.
   */
  fitWindow?(neededTokens: number): Promise<BackendInfo>;
  dispose(): Promise<void>;
}
