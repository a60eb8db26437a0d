import { describeBackend } from "../backends/descriptors.js";
import type { BuilderConfig } from "../config/load.js";
import { formatBytes } from "../format/numbers.js";
import type { CoreCount } from "../system/cpu-cores.js";
import { usableGpus, type GpuDetection, type GpuInfo } from "../system/gpu.js";
import { isLocalUrl } from "../system/memory-budget.js";
import type { DoctorCheck } from "./types.js";

/** What GPU there is, and whether its absence matters for this backend. */
export function gpuCheck(
  config: BuilderConfig,
  detection: GpuDetection,
  env: NodeJS.ProcessEnv = process.env,
): DoctorCheck {
  if (detection.found) return detectedGpusCheck(config, detection.gpus, env);
  const backend = describeBackend(config.backend);
  const serverUrl = backend.serverUrl(config);
  if (serverUrl !== undefined && !isLocalUrl(serverUrl))
    return {
      id: "gpu",
      status: "ok",
      message: `No local NVIDIA GPU (${detection.reason}); the model runs on the server, whose GPU is not visible from here.`,
    };
  if (backend.capabilities.gpuSelection && config.gpu === false) {
    return {
      id: "gpu",
      status: "ok",
      message: `No NVIDIA GPU checked for: "gpu": false runs the embedded engine on the CPU.`,
    };
  }
  return {
    id: "gpu",
    status: "warn",
    message: `No NVIDIA GPU found (${detection.reason}); the model runs on the CPU (Apple Silicon uses Metal, which this check does not see).`,
    fix: "On a CUDA machine install the NVIDIA driver (nvidia-smi must work). On the CPU prefer small quantized models (builder models --recommend).",
  };
}

/** The cards nvidia-smi lists, and which of them the model uses (CUDA_VISIBLE_DEVICES, gpu_index). */
function detectedGpusCheck(config: BuilderConfig, gpus: GpuInfo[], env: NodeJS.ProcessEnv): DoctorCheck {
  const list = gpus
    .map(
      (gpu) =>
        `GPU ${gpu.index}: ${gpu.name} (driver ${gpu.driverVersion}, ${formatBytes(gpu.freeBytes)} free of ${formatBytes(gpu.totalBytes)})`,
    )
    .join("; ");
  const { capabilities } = describeBackend(config.backend);
  // gpu_index chooses the GPU of Builder's own engine; a server picks its GPUs itself.
  const gpuIndex = capabilities.gpuSelection ? config.gpuIndex : undefined;
  const used = usableGpus(gpus, env, gpuIndex);
  const selectors = [
    env.CUDA_VISIBLE_DEVICES !== undefined ? `CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES}` : "",
    gpuIndex !== undefined ? `gpu_index ${gpuIndex}` : "",
  ]
    .filter(Boolean)
    .join(", ");
  const names = used.map((gpu) => `GPU ${gpu.index} ${gpu.name}`).join(", ");
  // Several cards for the embedded engine: llama.cpp splits the layers over them (its default split mode).
  const split = capabilities.ownEngine && used.length > 1 ? " (layers split over them)" : "";
  const usedText =
    selectors === ""
      ? split && ` Used: ${names}${split}.`
      : used.length > 0
        ? ` Used (${selectors}): ${names}${split}.`
        : ` None is used (${selectors}).`;
  const status = selectors !== "" && used.length === 0 ? "warn" : "ok";
  return {
    id: "gpu",
    status,
    message: `NVIDIA GPU${gpus.length > 1 ? "s" : ""}: ${list}.${usedText}`,
    ...(status === "warn"
      ? {
          fix: "Name a GPU that exists: CUDA_VISIBLE_DEVICES takes nvidia-smi's indices or UUIDs, gpu_index counts the visible GPUs from 0.",
        }
      : {}),
    details: { gpus, used: used.map((gpu) => gpu.index) },
  };
}

/** The configured thread count against the physical cores. */
export function threadsCheck(config: BuilderConfig, cores: CoreCount): DoctorCheck {
  const threads = config.options.num_thread;
  const coresText =
    cores.source === "logical"
      ? `${cores.logical} cores (physical count unknown)`
      : `${cores.physical} physical cores, ${cores.logical} logical`;
  if (threads === undefined) {
    const who = describeBackend(config.backend).capabilities.ownEngine
      ? "Builder measures the best thread count once per machine and model"
      : "the server picks threads";
    return { id: "threads", status: "ok", message: `${coresText}; num_thread unset: ${who}.`, details: { ...cores } };
  }
  if (threads > cores.physical) {
    return {
      id: "threads",
      status: "warn",
      message: `num_thread: ${threads} exceeds the ${coresText}.`,
      fix: `Use at most ${cores.physical}, or remove num_thread.`,
      details: { ...cores, num_thread: threads },
    };
  }
  return {
    id: "threads",
    status: "ok",
    message: `num_thread: ${threads} on ${coresText}.`,
    details: { ...cores, num_thread: threads },
  };
}
