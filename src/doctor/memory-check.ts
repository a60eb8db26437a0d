import { formatBytes } from "../format/numbers.js";
import { estimateFit, type KvCacheType, type ModelShape } from "../models/memory-estimate.js";
import type { MemoryBudget } from "../system/memory-budget.js";
import type { DoctorCheck } from "./types.js";

/** Inputs to {@link memoryFitCheck}. */
export interface MemoryFitInput {
  shape: ModelShape;
  numCtx: number;
  /** Whether num_ctx was configured or is Builder's default. */
  numCtxSource: "configured" | "default";
  cacheType: KvCacheType;
  budget: MemoryBudget;
  /** gpu_layers, when it offloads fewer than all layers (GPU budgets only). */
  gpuLayers?: number;
}

/**
 * Weights + KV cache at the configured num_ctx against the memory, and the largest num_ctx that fits
 * when the configured one does not.
 */
export function memoryFitCheck(input: MemoryFitInput): DoctorCheck {
  const { shape, numCtx, budget, cacheType } = input;
  const fit = estimateFit({
    shape,
    numCtx,
    cacheType,
    availableBytes: budget.bytes,
    gpuLayers: budget.kind === "gpu" ? input.gpuLayers : undefined,
  });
  const layers = fit.deviceLayers < shape.layers ? ` (${fit.deviceLayers} of ${shape.layers} layers)` : "";
  const breakdown =
    `weights ${formatBytes(fit.weightsBytes)}${layers} + KV cache ${formatBytes(fit.kvCacheBytes)} ` +
    `(${formatBytes(fit.kvBytesPerToken)}/token × num_ctx ${numCtx}${input.numCtxSource === "default" ? " (default)" : ""}, ${cacheType}) + ${formatBytes(fit.overheadBytes)} margin`;
  const details = {
    num_ctx: numCtx,
    kv_cache_type: cacheType,
    kv_bytes_per_token: fit.kvBytesPerToken,
    weights_bytes: fit.weightsBytes,
    kv_cache_bytes: fit.kvCacheBytes,
    overhead_bytes: fit.overheadBytes,
    total_bytes: fit.totalBytes,
    available_bytes: budget.bytes,
    memory: budget.kind,
    max_num_ctx: fit.maxNumCtx,
    fits: fit.fits,
  };
  const where = `${formatBytes(budget.bytes)} of ${budget.label}`;
  // A memory limit far beyond what the model was trained for is no advice to raise num_ctx that far.
  const beyondTraining = shape.contextLength !== undefined && fit.maxNumCtx > shape.contextLength;
  const trained = beyondTraining ? ` (the model is trained for ${shape.contextLength})` : "";
  if (fit.fits) {
    // Past the trained context the memory figure (756264192 for a tiny model) is no useful advice: name the trained one.
    const largest = beyondTraining
      ? `${shape.contextLength} (the model is trained for ${shape.contextLength}; memory would hold more)`
      : String(fit.maxNumCtx);
    const spare = fit.maxNumCtx === Number.MAX_SAFE_INTEGER ? "" : ` Largest num_ctx that fits: ${largest}.`;
    return {
      id: "memory-fit",
      status: "ok",
      message: `Fits: needs ${formatBytes(fit.totalBytes)} = ${breakdown}, within ${where}.${spare}`,
      details,
    };
  }
  if (fit.maxNumCtx === 0) {
    return {
      id: "memory-fit",
      status: "fail",
      message: `Does not fit: the weights alone (${formatBytes(fit.weightsBytes)}) plus the ${formatBytes(fit.overheadBytes)} margin exceed ${where}.`,
      fix:
        "Use a smaller quantization or model (builder models --recommend lists ones that fit)" +
        (budget.kind === "gpu" ? ", or offload fewer layers with gpu_layers (slower)." : "."),
      details,
    };
  }
  return {
    id: "memory-fit",
    status: "fail",
    message: `Does not fit: needs ${formatBytes(fit.totalBytes)} = ${breakdown}, but there are ${where}. The largest num_ctx that fits is ${fit.maxNumCtx}${trained}.`,
    fix:
      `Set options.num_ctx to ${Math.min(fit.maxNumCtx, shape.contextLength ?? fit.maxNumCtx)} or less` +
      (cacheType === "f16"
        ? ", or quantize the KV cache (q8_0 halves it; Ollama: OLLAMA_KV_CACHE_TYPE=q8_0 with OLLAMA_FLASH_ATTENTION=1)"
        : "") +
      ", or use a smaller model or quantization.",
    details,
  };
}
