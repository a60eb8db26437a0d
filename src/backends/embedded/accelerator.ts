import type { Llama, LlamaModel } from "node-llama-cpp";
import type { AcceleratorUsage } from "../types.js";

/** How the embedded engine's VRAM figure is obtained, named in the report. */
export const MEASURED_VRAM_SOURCE = "llama.cpp: the GPU memory in use grew by this while the model and context loaded";

/** VRAM in use on the visible GPUs now (every process's), or undefined on the CPU or when llama.cpp cannot tell. */
export async function vramInUse(llama: Llama): Promise<number | undefined> {
  if (llama.gpu === false) return undefined;
  try {
    return (await llama.getVramState()).used;
  } catch {
    return undefined;
  }
}

/**
 * Where the loaded model runs, from node-llama-cpp's own state: the layers it offloaded, the names of
 * the GPUs it sees, and the VRAM the load took (in use after it, less in use before). A CPU build, or
 * a GPU build with no layer offloaded, is the CPU, whatever the card.
 */
export async function measureAccelerator(
  llama: Llama,
  model: LlamaModel,
  vramBefore: number | undefined,
): Promise<AcceleratorUsage> {
  const layers = { onGpu: model.gpuLayers, total: model.fileInsights.totalLayers };
  if (llama.gpu === false || model.gpuLayers === 0) {
    return { source: "llama.cpp", gpuNames: [], layers, vramBytes: 0 };
  }
  const gpuNames = await llama.getGpuDeviceNames().catch(() => undefined);
  const vramAfter = await vramInUse(llama);
  const vramBytes =
    vramBefore !== undefined && vramAfter !== undefined ? Math.max(0, vramAfter - vramBefore) : undefined;
  return { source: MEASURED_VRAM_SOURCE, gpuNames, layers, vramBytes };
}
