import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import type { BuilderConfig } from "../../config/load.js";
import { cudaSelectionFor } from "../../system/gpu.js";
import { getLogger } from "../../telemetry/logger.js";

const runtimes = new Map<string, Promise<Llama>>();
/** The CUDA device selection of the first runtime: CUDA reads it once per process. */
let selectedDevices: string | undefined;

/**
 * One llama.cpp runtime per process and GPU setting: loading the native bindings is slow, and
 * several backends (the CLI, `builder serve`, the benchmark) share it. With `gpuIndex`, the process's
 * `CUDA_VISIBLE_DEVICES` is narrowed to that card before llama.cpp loads (node-llama-cpp 3.21 has
 * no device option).
 */
export function getLlamaRuntime(gpu: BuilderConfig["gpu"], gpuIndex?: number): Promise<Llama> {
  const key = `${String(gpu)}:${gpuIndex ?? "all"}`;
  let runtime = runtimes.get(key);
  if (!runtime) {
    const logger = getLogger().child({ component: "llama.cpp" });
    if (gpuIndex !== undefined && gpu !== false) selectGpu(gpuIndex, logger);
    runtime = getLlama({
      gpu,
      // Never build from source or download at run time: use the prebuilt binaries npm installed.
      build: "never",
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = withAdvice(message.trim());
        if (!text) return;
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error(text);
        else if (level === LlamaLogLevel.warn) logger.warn(text);
        else logger.debug(text);
      },
    });
    if (gpuIndex !== undefined && gpu !== false)
      void runtime.then(
        (llama) => warnIfNoGpu(llama, gpuIndex, logger),
        () => undefined,
      );
    runtimes.set(key, runtime);
  }
  return runtime;
}

function selectGpu(gpuIndex: number, logger: ReturnType<typeof getLogger>): void {
  if (selectedDevices !== undefined) return;
  if (runtimes.size > 0) {
    logger.warn(
      `gpu_index ${gpuIndex} cannot take effect: llama.cpp was already loaded on every visible GPU in this process.`,
    );
    return;
  }
  const selection = cudaSelectionFor(gpuIndex, process.env);
  for (const [name, value] of Object.entries(selection.set)) process.env[name] = value;
  selectedDevices = process.env.CUDA_VISIBLE_DEVICES ?? "";
  if (selection.note) logger.warn(selection.note);
  // Only the selection: whether that GPU exists is known once llama.cpp has loaded (warnIfNoGpu).
  else
    logger.debug(
      { gpu_index: gpuIndex, ...selection.set },
      `gpu_index ${gpuIndex}: CUDA_VISIBLE_DEVICES=${selectedDevices} is set before llama.cpp loads`,
    );
}

/**
 * A gpu_index that leaves llama.cpp without a GPU (no such card, no GPU at all, a CPU-only build) runs
 * the model on the CPU, many times slower: said where the run is, not only by `builder doctor`.
 */
async function warnIfNoGpu(llama: Llama, gpuIndex: number, logger: ReturnType<typeof getLogger>): Promise<void> {
  const devices = llama.gpu === false ? [] : await llama.getGpuDeviceNames().catch(() => []);
  if (devices.length > 0) {
    logger.info(
      { gpu_index: gpuIndex, device: devices[0] },
      `embedded engine on GPU ${gpuIndex} (${devices.join(", ")})`,
    );
    return;
  }
  logger.warn(
    { gpu_index: gpuIndex },
    `gpu_index ${gpuIndex} is set, but llama.cpp sees no GPU ${gpuIndex} (CUDA_VISIBLE_DEVICES=${selectedDevices ?? "unset"}): the model runs on the CPU. ` +
      "List the cards with `nvidia-smi -L` (numbers start at 0) and fix gpu_index, or remove it.",
  );
}

/** Advice appended to llama.cpp lines that say what went wrong but not what to do. */
export function withAdvice(text: string): string {
  if (/failed to mlock/i.test(text))
    return `${text} (use_mlock: the limit on locked memory is too low for the model. Raise it (ulimit -l unlimited; LimitMEMLOCK=infinity in a systemd unit; --ulimit memlock=-1 in Docker) or set use_mlock to false: the model still loads, it may only be paged out.)`;
  return text;
}

/** Layers of the model on the GPU, out of its total. */
export interface OffloadedLayers {
  onGpu: number;
  total: number;
}

/**
 * A short human description of where llama.cpp computes. A GPU build with no layer offloaded runs on
 * the CPU and is described so: the report must not claim a GPU it does not use.
 */
export function describeDevice(gpu: Llama["gpu"], threads: number, layers?: OffloadedLayers): string {
  const threadText = `${threads} thread${threads === 1 ? "" : "s"}`;
  if (gpu === false) return `CPU, ${threadText}`;
  if (layers && layers.onGpu === 0) return `CPU (${gpu} build, 0 of ${layers.total} layers on the GPU), ${threadText}`;
  const offload = layers ? `, ${layers.onGpu} of ${layers.total} layers on the GPU` : "";
  return `GPU (${gpu})${offload}, ${threadText}`;
}
