import { execFile } from "node:child_process";
import { MIB } from "../format/numbers.js";

/** One NVIDIA GPU as `nvidia-smi` reports it. */
export interface GpuInfo {
  index: number;
  name: string;
  driverVersion: string;
  totalBytes: number;
  freeBytes: number;
  /** "GPU-…", when nvidia-smi reported it (CUDA_VISIBLE_DEVICES may name GPUs by UUID). */
  uuid?: string;
}

/** What GPU detection found: the GPUs, or why there are none. */
export type GpuDetection = { found: true; gpus: GpuInfo[] } | { found: false; reason: string };

/** The query Builder sends; memory is in MiB because of `nounits`. */
export const NVIDIA_SMI_ARGS = [
  "--query-gpu=name,driver_version,memory.total,memory.free,uuid",
  "--format=csv,noheader,nounits",
];

/**
 * Parses `nvidia-smi --query-gpu=name,driver_version,memory.total,memory.free[,uuid] --format=csv,noheader,nounits`.
 * Fields are read from the right so that a name containing a comma stays whole; the UUID is optional.
 * `index` is nvidia-smi's order (PCI bus order), which CUDA_VISIBLE_DEVICES indices refer to when
 * CUDA_DEVICE_ORDER=PCI_BUS_ID.
 */
export function parseNvidiaSmi(output: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of output.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const fields = line.split(",").map((field) => field.trim());
    const uuid = /^(GPU|MIG)-/i.test(fields.at(-1) ?? "") ? fields.pop() : undefined;
    if (fields.length < 4) continue;
    const free = Number(fields.at(-1));
    const total = Number(fields.at(-2));
    if (!Number.isFinite(free) || !Number.isFinite(total)) continue;
    gpus.push({
      index: gpus.length,
      name: fields.slice(0, -3).join(", "),
      driverVersion: fields.at(-3) ?? "",
      totalBytes: total * MIB,
      freeBytes: free * MIB,
      ...(uuid ? { uuid } : {}),
    });
  }
  return gpus;
}

/** Runs `nvidia-smi` (found on PATH) and reports the NVIDIA GPUs; never throws. */
export function detectNvidiaGpus(timeoutMs = 5000): Promise<GpuDetection> {
  return new Promise((resolve) => {
    execFile("nvidia-smi", NVIDIA_SMI_ARGS, { timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
      if (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const reason =
          code === "ENOENT"
            ? "nvidia-smi is not installed (no NVIDIA driver found)"
            : `nvidia-smi failed: ${(stderr || stdout || error.message).trim().split("\n")[0]}`;
        resolve({ found: false, reason });
        return;
      }
      const gpus = parseNvidiaSmi(stdout);
      resolve(gpus.length > 0 ? { found: true, gpus } : { found: false, reason: "nvidia-smi lists no GPU" });
    });
  });
}

/** Total memory of all detected GPUs (llama.cpp and Ollama split layers across them). */
export function totalGpuBytes(gpus: readonly GpuInfo[]): number {
  return gpus.reduce((sum, gpu) => sum + gpu.totalBytes, 0);
}

/**
 * The GPUs a CUDA program sees, in the order it numbers them, as `CUDA_VISIBLE_DEVICES` selects them:
 * unset means all; a comma-separated list of indices or (prefixes of) UUIDs picks and orders them;
 * as in CUDA, the list ends at the first entry that names no GPU, so `""` or `-1` hides every GPU.
 */
export function visibleGpus(gpus: readonly GpuInfo[], cudaVisibleDevices: string | undefined): GpuInfo[] {
  if (cudaVisibleDevices === undefined) return [...gpus];
  const visible: GpuInfo[] = [];
  for (const entry of cudaVisibleDevices.split(",").map((e) => e.trim())) {
    const gpu = /^\d+$/.test(entry)
      ? gpus.find((g) => g.index === Number(entry))
      : entry !== ""
        ? gpus.find((g) => g.uuid?.toLowerCase().startsWith(entry.toLowerCase()))
        : undefined;
    if (!gpu || visible.includes(gpu)) break;
    visible.push(gpu);
  }
  return visible;
}

/**
 * The GPUs the model will use: those visible, narrowed to one by `gpuIndex`, which is nvidia-smi's
 * number for the card (what `nvidia-smi` and the seed's `"gpu": 1` mean). A card that
 * CUDA_VISIBLE_DEVICES hides is not usable.
 */
export function usableGpus(gpus: readonly GpuInfo[], env: NodeJS.ProcessEnv, gpuIndex: number | undefined): GpuInfo[] {
  const visible = visibleGpus(gpus, env.CUDA_VISIBLE_DEVICES);
  return gpuIndex === undefined ? visible : visible.filter((gpu) => gpu.index === gpuIndex);
}

/** How the embedded engine's process must set CUDA's variables to run on one card. */
export interface CudaSelection {
  /** New values for the process environment (none when the user's setting already decides). */
  set: Record<string, string>;
  /** Said to the user when gpu_index cannot narrow what CUDA_VISIBLE_DEVICES already selects. */
  note?: string;
}

/**
 * The environment that shows the embedded engine only nvidia-smi's GPU `gpuIndex`. node-llama-cpp
 * 3.21 has no device option, and CUDA reads these variables when it initializes, so they are set for
 * the process before llama.cpp loads. CUDA_DEVICE_ORDER=PCI_BUS_ID makes CUDA number the cards as
 * nvidia-smi does (its own default puts the fastest first).
 */
export function cudaSelectionFor(gpuIndex: number, env: NodeJS.ProcessEnv): CudaSelection {
  const order: Record<string, string> = env.CUDA_DEVICE_ORDER === undefined ? { CUDA_DEVICE_ORDER: "PCI_BUS_ID" } : {};
  const current = env.CUDA_VISIBLE_DEVICES;
  if (current === undefined) return { set: { ...order, CUDA_VISIBLE_DEVICES: String(gpuIndex) } };
  const entries = current.split(",").map((e) => e.trim());
  if (entries.includes(String(gpuIndex))) return { set: { ...order, CUDA_VISIBLE_DEVICES: String(gpuIndex) } };
  return {
    set: {},
    note: `gpu_index ${gpuIndex} is not among CUDA_VISIBLE_DEVICES=${current}; CUDA_VISIBLE_DEVICES decides which GPU is used`,
  };
}
