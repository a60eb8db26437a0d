import { GIB } from "../format/numbers.js";

/**
 * How much memory a model needs at a given context size: its weights plus the KV cache, which grows
 * linearly with the context. Used by `builder doctor` and `builder models` to say whether a model
 * fits a GPU and what the largest context is that does.
 */

/** KV cache element types llama.cpp (and Ollama's OLLAMA_KV_CACHE_TYPE) accept. */
export const KV_CACHE_TYPES = ["f32", "f16", "bf16", "q8_0", "q5_1", "q5_0", "q4_1", "q4_0", "iq4_nl"] as const;
export type KvCacheType = (typeof KV_CACHE_TYPES)[number];

/**
 * Bytes per cached element. Quantized types store blocks of 32 values plus a scale (and minimum):
 * q8_0 = 34 bytes / 32 values = 1.0625, q4_0 = 18 / 32 = 0.5625.
 */
export const KV_BYTES_PER_ELEMENT: Readonly<Record<KvCacheType, number>> = {
  f32: 4,
  f16: 2,
  bf16: 2,
  q8_0: 34 / 32,
  q5_1: 24 / 32,
  q5_0: 22 / 32,
  q4_1: 20 / 32,
  q4_0: 18 / 32,
  iq4_nl: 18 / 32,
};

/** What the estimate needs to know about a model; read from a GGUF header or Ollama's `/api/show`. */
export interface ModelShape {
  /** Transformer blocks (`<arch>.block_count`). */
  layers: number;
  /** KV heads (`<arch>.attention.head_count_kv`); a list when it differs per layer. */
  kvHeads: number | readonly number[];
  /** Size of one key head (`attention.key_length`, else embedding_length / head_count). */
  keyLength: number;
  /** Size of one value head (`attention.value_length`, else the key length). */
  valueLength: number;
  /** Bytes of weights (the GGUF file size, or the size Ollama reports). */
  weightsBytes: number;
  /** The context length the model was trained for, if known. */
  contextLength?: number;
}

/**
 * Room left for the CUDA context, llama.cpp's compute buffers and fragmentation. 1 GiB is a
 * deliberate, stated margin: compute buffers grow with the batch size, so very large contexts can
 * need more.
 */
export const DEFAULT_OVERHEAD_BYTES = 1 * GIB;

/**
 * The margin for a model split by layers over `cards` GPUs (llama.cpp's default split mode, which
 * node-llama-cpp keeps): each card holds its own CUDA context and compute buffers, so each needs
 * the margin, not the cards once together.
 */
export function marginForCards(cards: number): number {
  return DEFAULT_OVERHEAD_BYTES * Math.max(1, cards);
}

/** Contexts that fit are rounded down to a multiple of this. */
export const CONTEXT_STEP = 256;

/** Total KV heads over all layers. */
function kvHeadsTotal(shape: ModelShape): number {
  return typeof shape.kvHeads === "number"
    ? shape.kvHeads * shape.layers
    : shape.kvHeads.reduce((sum, heads) => sum + heads, 0);
}

/**
 * KV cache bytes for one token of context: for every layer, a key and a value vector per KV head.
 * With equal key and value sizes this is 2 × layers × kv_heads × head_dim × bytes per element.
 */
export function kvBytesPerToken(shape: ModelShape, cacheType: KvCacheType = "f16"): number {
  return kvHeadsTotal(shape) * (shape.keyLength + shape.valueLength) * KV_BYTES_PER_ELEMENT[cacheType];
}

/** Inputs to {@link estimateFit}. */
export interface FitInput {
  shape: ModelShape;
  numCtx: number;
  cacheType?: KvCacheType;
  /** Memory the model may use: GPU memory, or RAM when it runs on the CPU. */
  availableBytes: number;
  /** Layers offloaded to the GPU; unset or ≥ layers means the whole model. */
  gpuLayers?: number;
  overheadBytes?: number;
}

/** The outcome of {@link estimateFit}, every figure in bytes unless named otherwise. */
export interface FitEstimate {
  kvBytesPerToken: number;
  /** Layers counted on the device (all of them unless gpu_layers offloads fewer). */
  deviceLayers: number;
  weightsBytes: number;
  kvCacheBytes: number;
  overheadBytes: number;
  totalBytes: number;
  availableBytes: number;
  fits: boolean;
  /**
   * The largest context (a multiple of 256) whose cache fits beside the weights and the margin; 0
   * when the weights alone do not fit. Not capped by the model's trained context: see `contextLength`.
   */
  maxNumCtx: number;
}

/**
 * Estimates weights + KV cache + margin against the available memory. With partial offload only the
 * offloaded share of the weights and of the cache is counted on the device (llama.cpp keeps each
 * layer's cache next to the layer).
 */
export function estimateFit(input: FitInput): FitEstimate {
  const { shape, numCtx } = input;
  const overheadBytes = input.overheadBytes ?? DEFAULT_OVERHEAD_BYTES;
  const deviceLayers =
    input.gpuLayers === undefined ? shape.layers : Math.max(0, Math.min(input.gpuLayers, shape.layers));
  const share = shape.layers > 0 ? deviceLayers / shape.layers : 1;
  const perToken = kvBytesPerToken(shape, input.cacheType) * share;
  const weightsBytes = shape.weightsBytes * share;
  const kvCacheBytes = perToken * numCtx;
  const totalBytes = weightsBytes + kvCacheBytes + overheadBytes;
  const room = input.availableBytes - weightsBytes - overheadBytes;
  const maxNumCtx =
    room <= 0 || perToken <= 0
      ? room > 0
        ? Number.MAX_SAFE_INTEGER
        : 0
      : Math.floor(room / perToken / CONTEXT_STEP) * CONTEXT_STEP;
  return {
    kvBytesPerToken: perToken,
    deviceLayers,
    weightsBytes,
    kvCacheBytes,
    overheadBytes,
    totalBytes,
    availableBytes: input.availableBytes,
    fits: totalBytes <= input.availableBytes,
    maxNumCtx,
  };
}

/** Parses a KV cache type name ("f16", "Q8_0"), or undefined when it is not one. */
export function parseKvCacheType(value: string | undefined): KvCacheType | undefined {
  if (!value) return undefined;
  const lower = value.trim().toLowerCase();
  return (KV_CACHE_TYPES as readonly string[]).includes(lower) ? (lower as KvCacheType) : undefined;
}
