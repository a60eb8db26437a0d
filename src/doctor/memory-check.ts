import { autoWindowCap } from "../window-size/policy.js";
import { formatBytes } from "../format/numbers.js";
import { estimateFit, marginForCards, type KvCacheType, type ModelShape } from "../models/memory-estimate.js";
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
 * when the configured one does not. A model split over several cards needs the margin on each.
 */
export function memoryFitCheck(input: MemoryFitInput): DoctorCheck {
  const { shape, numCtx, budget, cacheType } = input;
  const cards = budget.gpus?.length ?? 1;
  const fit = estimateFit({
    shape,
    numCtx,
    cacheType,
    availableBytes: budget.bytes,
    overheadBytes: marginForCards(cards),
    gpuLayers: budget.kind === "gpu" ? input.gpuLayers : undefined,
  });
  const details = fitDetails(input, fit);
  const where = `${formatBytes(budget.bytes)} of ${budget.label}`;
  if (fit.fits) return { id: "memory-fit", status: "ok", message: fitsMessage(input, fit, where), details };
  if (fit.maxNumCtx === 0) {
    return {
      id: "memory-fit",
      status: "fail",
      message: `Does not fit: the weights alone (${formatBytes(fit.weightsBytes)}) plus the ${marginText(fit, cards)} exceed ${where}.`,
      fix:
        "Use a smaller quantization or model (builder models --recommend lists ones that fit)" +
        (budget.kind === "gpu" ? ", or offload fewer layers with gpu_layers (slower)." : "."),
      details,
    };
  }
  // A memory limit far beyond what the model was trained for is no advice to raise num_ctx that far.
  const trained =
    shape.contextLength !== undefined && fit.maxNumCtx > shape.contextLength
      ? ` (the model is trained for ${shape.contextLength})`
      : "";
  return {
    id: "memory-fit",
    status: "fail",
    message: `Does not fit: needs ${formatBytes(fit.totalBytes)} = ${breakdown(input, fit)}, but there are ${where}. The largest num_ctx that fits is ${fit.maxNumCtx}${trained}.`,
    fix:
      `Set options.num_ctx to ${Math.min(fit.maxNumCtx, shape.contextLength ?? fit.maxNumCtx)} or less` +
      (cacheType === "f16"
        ? ", or quantize the KV cache (q8_0 halves it; Ollama: OLLAMA_KV_CACHE_TYPE=q8_0 with OLLAMA_FLASH_ATTENTION=1)"
        : "") +
      ", or use a smaller model or quantization.",
    details,
  };
}

type Fit = ReturnType<typeof estimateFit>;

function fitsMessage(input: MemoryFitInput, fit: Fit, where: string): string {
  const { shape } = input;
  // Past the trained context the memory figure (756264192 for a tiny model) is no useful advice: name the trained one.
  const largest =
    shape.contextLength !== undefined && fit.maxNumCtx > shape.contextLength
      ? `${shape.contextLength} (the model is trained for ${shape.contextLength}; memory would hold more)`
      : String(fit.maxNumCtx);
  const spare = fit.maxNumCtx === Number.MAX_SAFE_INTEGER ? "" : ` Largest num_ctx that fits: ${largest}.`;
  // num_ctx auto: the window is chosen per task, up to what fits here.
  const auto =
    input.numCtxSource === "default"
      ? ` num_ctx auto: each task gets the smallest of 8K…128K that holds it, here up to ${autoWindowCap(shape.contextLength, fit.maxNumCtx)}.`
      : "";
  return `Fits: needs ${formatBytes(fit.totalBytes)} = ${breakdown(input, fit)}, within ${where}.${spare}${auto}`;
}

function breakdown(input: MemoryFitInput, fit: Fit): string {
  const { shape, numCtx, cacheType } = input;
  const layers = fit.deviceLayers < shape.layers ? ` (${fit.deviceLayers} of ${shape.layers} layers)` : "";
  return (
    `weights ${formatBytes(fit.weightsBytes)}${layers} + KV cache ${formatBytes(fit.kvCacheBytes)} ` +
    `(${formatBytes(fit.kvBytesPerToken)}/token × num_ctx ${numCtx}${input.numCtxSource === "default" ? " (default)" : ""}, ${cacheType}) + ${marginText(fit, input.budget.gpus?.length ?? 1)}`
  );
}

function marginText(fit: Fit, cards: number): string {
  return cards > 1
    ? `${formatBytes(fit.overheadBytes)} margin (${formatBytes(fit.overheadBytes / cards)} on each of ${cards} cards)`
    : `${formatBytes(fit.overheadBytes)} margin`;
}

function fitDetails(input: MemoryFitInput, fit: Fit): Record<string, unknown> {
  return {
    num_ctx: input.numCtx,
    kv_cache_type: input.cacheType,
    kv_bytes_per_token: fit.kvBytesPerToken,
    weights_bytes: fit.weightsBytes,
    kv_cache_bytes: fit.kvCacheBytes,
    overhead_bytes: fit.overheadBytes,
    total_bytes: fit.totalBytes,
    available_bytes: input.budget.bytes,
    memory: input.budget.kind,
    ...(input.budget.gpus ? { gpus: input.budget.gpus.map((gpu) => `GPU ${gpu.index}: ${gpu.name}`) } : {}),
    max_num_ctx: fit.maxNumCtx,
    fits: fit.fits,
  };
}
