import type { Options } from "ollama";
import type { GenerationOptions } from "../../config/schema.js";
import type { SamplingOptions } from "../types.js";

/**
 * Ollama `options` for one request. Builder's option names are Ollama's, except `gpu_layers`, which
 * Ollama calls `num_gpu`: a number of layers to offload, not a GPU index (the GPU is chosen with
 * CUDA_VISIBLE_DEVICES on the server). `num_ctx` is always sent, because Ollama's own default is small
 * and it truncates a longer prompt silently.
 */
export function ollamaOptions(config: GenerationOptions, sampling: SamplingOptions, numCtx: number): Partial<Options> {
  const options: Partial<Options> = { num_ctx: numCtx, num_predict: sampling.maxTokens };
  if (sampling.temperature !== undefined) options.temperature = sampling.temperature;
  if (sampling.topP !== undefined) options.top_p = sampling.topP;
  if (sampling.topK !== undefined) options.top_k = sampling.topK;
  if (sampling.repeatPenalty !== undefined) options.repeat_penalty = sampling.repeatPenalty;
  if (sampling.seed !== undefined) options.seed = sampling.seed;
  if (config.num_thread !== undefined) options.num_thread = config.num_thread;
  if (config.num_batch !== undefined) options.num_batch = config.num_batch;
  if (config.gpu_layers !== undefined) options.num_gpu = config.gpu_layers;
  if (config.use_mmap !== undefined) options.use_mmap = config.use_mmap;
  if (config.use_mlock !== undefined) options.use_mlock = config.use_mlock;
  return options;
}
