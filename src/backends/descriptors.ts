import type { BuilderConfig } from "../config/load.js";
import { BACKEND_NAMES, type BackendName } from "../config/schema.js";

/**
 * What a backend can do, declared by the backend rather than inferred from its name elsewhere (as
 * AI SDK providers declare theirs): the answer format, the token counts and the doctor's checks
 * follow these, so a new backend (or a test double) declares its own and gets the behaviour that fits.
 */
export interface BackendCapabilities {
  /**
   * How a GBNF grammar reaches the model. `engine`: Builder's llama.cpp applies it, so a text answer
   * is constrained by default. `request-field`: sent as the request's `grammar` field, which llama.cpp's
   * server honours and others (vLLM) reject, so only an explicit `answer.format: text` uses it. `none`:
   * the backend takes no grammar (text answers are checked after generation).
   */
  grammar: "engine" | "request-field" | "none";
  /** The answer can be constrained to a JSON schema. */
  jsonSchema: boolean;
  /** Prompt tokens are counted with the model's own tokenizer; else a conservative estimate. */
  exactTokenCounts: boolean;
  /** The info tells the memory the model takes (`BackendInfo.memoryBytes`). */
  memoryReport: boolean;
  /** The info tells some of the GPU, layers and VRAM (`BackendInfo.accelerator`). */
  gpuReport: boolean;
  /** `gpu` and `gpu_index` choose the GPU; false: the server picks its GPUs from its own environment. */
  gpuSelection: boolean;
  /** Prompt prefixes are kept between requests (the Builder host's sequences, the on-disk prefix cache). */
  prefixCache: boolean;
  /** Prompt-lookup speculative decoding. */
  speculation: boolean;
  /**
   * The model runs in Builder's own llama.cpp engine, in this process or the Builder host it starts,
   * on this machine; false: in a model server Builder talks to, on this machine or another.
   */
  ownEngine: boolean;
  /** Builder sets the context window (num_ctx); false: the server decides it and Builder can only learn it. */
  setsContextWindow: boolean;
  /** The model's shape (layers, KV heads, trained context) can be read: from the GGUF file or the server's model info. */
  modelShape: boolean;
  /** The server keeps pulled models that Builder lists with their shapes (Ollama's /api/tags and /api/show). */
  pulledModels: boolean;
  /** The server's KV cache type follows OLLAMA_KV_CACHE_TYPE (with OLLAMA_FLASH_ATTENTION) in its environment. */
  kvCacheTypeFromEnv: boolean;
}

/** One kind of backend as the configuration names it, known before any backend object exists. */
export interface BackendDescriptor {
  name: BackendName;
  /** What holds the model, as a sentence names it mid-way ("Ollama picks its GPU itself"). */
  displayName: string;
  capabilities: BackendCapabilities;
  /** The model server's URL in the configuration (the first of a pool); undefined: Builder's own engine. */
  serverUrl(config: BuilderConfig): string | undefined;
}

const EMBEDDED: BackendDescriptor = {
  name: "embedded",
  displayName: "Builder's embedded engine",
  capabilities: {
    grammar: "engine",
    jsonSchema: true,
    exactTokenCounts: true,
    memoryReport: true,
    gpuReport: true,
    gpuSelection: true,
    prefixCache: true,
    speculation: true,
    ownEngine: true,
    setsContextWindow: true,
    modelShape: true,
    pulledModels: false,
    kvCacheTypeFromEnv: false,
  },
  serverUrl: () => undefined,
};

const OLLAMA: BackendDescriptor = {
  name: "ollama",
  displayName: "Ollama",
  capabilities: {
    grammar: "none",
    jsonSchema: true,
    exactTokenCounts: false,
    memoryReport: false,
    gpuReport: true,
    gpuSelection: false,
    prefixCache: false,
    speculation: false,
    ownEngine: false,
    setsContextWindow: true,
    modelShape: true,
    pulledModels: true,
    kvCacheTypeFromEnv: true,
  },
  serverUrl: (config) => config.ollama.host,
};

const OPENAI: BackendDescriptor = {
  name: "openai",
  displayName: "the OpenAI-compatible server",
  capabilities: {
    grammar: "request-field",
    jsonSchema: true,
    exactTokenCounts: false,
    memoryReport: false,
    gpuReport: false,
    gpuSelection: false,
    prefixCache: false,
    speculation: false,
    ownEngine: false,
    setsContextWindow: false,
    modelShape: false,
    pulledModels: false,
    kvCacheTypeFromEnv: false,
  },
  serverUrl: (config) => config.openai.baseUrl,
};

const DESCRIPTORS: Readonly<Record<BackendName, BackendDescriptor>> = {
  embedded: EMBEDDED,
  ollama: OLLAMA,
  openai: OPENAI,
};

/** The descriptor of the backend kind `name` (the configuration's `backend`). */
export function describeBackend(name: BackendName): BackendDescriptor {
  return DESCRIPTORS[name];
}

/** The descriptor for a name read back from a record (a metrics line); undefined for a name Builder does not know. */
export function findBackendDescriptor(name: string): BackendDescriptor | undefined {
  return (BACKEND_NAMES as readonly string[]).includes(name) ? DESCRIPTORS[name as BackendName] : undefined;
}
