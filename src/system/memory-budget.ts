import { totalmem } from "node:os";
import type { BuilderConfig } from "../config/load.js";
import { totalGpuBytes, type GpuDetection } from "./gpu.js";

/** Where the model will live: GPU memory, or RAM when it runs on the CPU. */
export interface MemoryBudget {
  kind: "gpu" | "ram";
  bytes: number;
  /** "GPU memory (1 × NVIDIA GeForce RTX 4090)", "RAM (no GPU: …)". */
  label: string;
}

/**
 * The memory the configured model will use: all detected GPUs together (llama.cpp and Ollama split
 * layers across them), or RAM without a GPU. Undefined when the model runs on a remote server.
 */
export function memoryBudget(config: BuilderConfig, detection: GpuDetection): MemoryBudget | undefined {
  const serverUrl = config.backend === "ollama" ? config.ollama.host : config.backend === "openai" ? config.openai.baseUrl : undefined;
  if (serverUrl !== undefined && !isLocalUrl(serverUrl)) return undefined;
  if (detection.found && !(config.backend === "embedded" && config.gpu === false)) {
    const names = [...new Set(detection.gpus.map((gpu) => gpu.name))].join(", ");
    return { kind: "gpu", bytes: totalGpuBytes(detection.gpus), label: `GPU memory (${detection.gpus.length} × ${names})` };
  }
  return { kind: "ram", bytes: totalmem(), label: "RAM (no GPU: the model runs on the CPU)" };
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
