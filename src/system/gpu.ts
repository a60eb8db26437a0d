import { execFile } from "node:child_process";
import { MIB } from "../format/numbers.js";

/** One NVIDIA GPU as `nvidia-smi` reports it. */
export interface GpuInfo {
  index: number;
  name: string;
  driverVersion: string;
  totalBytes: number;
  freeBytes: number;
}

/** What GPU detection found: the GPUs, or why there are none. */
export type GpuDetection = { found: true; gpus: GpuInfo[] } | { found: false; reason: string };

/** The query Builder sends; memory is in MiB because of `nounits`. */
export const NVIDIA_SMI_ARGS = ["--query-gpu=name,driver_version,memory.total,memory.free", "--format=csv,noheader,nounits"];

/**
 * Parses `nvidia-smi --query-gpu=name,driver_version,memory.total,memory.free --format=csv,noheader,nounits`.
 * Fields are read from the right so that a name containing a comma stays whole.
 */
export function parseNvidiaSmi(output: string): GpuInfo[] {
  const gpus: GpuInfo[] = [];
  for (const line of output.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const fields = line.split(",").map((field) => field.trim());
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
