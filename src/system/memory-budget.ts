import { totalmem } from "node:os";
import { describeBackend } from "../backends/descriptors.js";
import type { BuilderConfig } from "../config/load.js";
import { formatBytes } from "../format/numbers.js";
import { totalGpuBytes, usableGpus, type GpuDetection, type GpuInfo } from "./gpu.js";

/** Where the model will live: GPU memory, or RAM when it runs on the CPU. */
export interface MemoryBudget {
  kind: "gpu" | "ram";
  bytes: number;
  /** "GPU memory of GPU 1: NVIDIA GeForce RTX 4090 (24.0 GiB)", "RAM (no GPU: …)". */
  label: string;
  /** The cards the estimate is against (GPU budgets only). */
  gpus?: GpuInfo[];
}

/**
 * The memory the configured model will use: the GPUs it can see (`CUDA_VISIBLE_DEVICES`, narrowed to
 * one card by `gpu_index`), or RAM without a usable GPU. Several visible cards count together, as
 * the engines use them: llama.cpp splits layers over every visible card by default (split mode
 * `layer`; node-llama-cpp 3.21 keeps llama.cpp's default model parameters and has no device option),
 * and Ollama spreads a model over several cards when one does not hold it. Undefined when the model
 * runs on a remote server.
 */
export function memoryBudget(
  config: BuilderConfig,
  detection: GpuDetection,
  env: NodeJS.ProcessEnv = process.env,
): MemoryBudget | undefined {
  const backend = describeBackend(config.backend);
  const serverUrl = backend.serverUrl(config);
  if (serverUrl !== undefined && !isLocalUrl(serverUrl)) return undefined;
  // gpu and gpu_index choose the GPU of Builder's own engine; a local server picks its GPUs from its own environment.
  const gpuIndex = backend.capabilities.gpuSelection ? config.gpuIndex : undefined;
  if (detection.found && !(backend.capabilities.gpuSelection && config.gpu === false)) {
    const gpus = usableGpus(detection.gpus, env, gpuIndex);
    if (gpus.length > 0) return { kind: "gpu", bytes: totalGpuBytes(gpus), label: gpuLabel(gpus), gpus };
    const why =
      gpuIndex !== undefined
        ? `gpu_index ${gpuIndex} names no visible GPU`
        : `CUDA_VISIBLE_DEVICES="${env.CUDA_VISIBLE_DEVICES ?? ""}" hides every GPU`;
    return { kind: "ram", bytes: totalmem(), label: `RAM (${why}: the model runs on the CPU)` };
  }
  return { kind: "ram", bytes: totalmem(), label: "RAM (no GPU: the model runs on the CPU)" };
}

/** Names each card the estimate is against, with its nvidia-smi number. */
function gpuLabel(gpus: readonly GpuInfo[]): string {
  const cards = gpus.map((gpu) => `GPU ${gpu.index}: ${gpu.name} (${formatBytes(gpu.totalBytes)})`).join(" + ");
  return gpus.length === 1
    ? `GPU memory of ${cards}`
    : `GPU memory of ${gpus.length} cards, layers split over them: ${cards}`;
}

/** True for URLs on this machine (where the local GPU is the server's GPU). */
export function isLocalUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === "localhost" || host === "127.0.0.1" || host === "[::1]" || host === "0.0.0.0";
  } catch {
    return false;
  }
}
