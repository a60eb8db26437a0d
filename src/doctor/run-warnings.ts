import { describeBackend } from "../backends/descriptors.js";
import type { BuilderConfig } from "../config/load.js";
import { detectCores, type CoreCount } from "../system/cpu-cores.js";
import { isLocalUrl } from "../system/memory-budget.js";
import { getLogger } from "../telemetry/logger.js";
import { threadPitfall } from "./pitfalls.js";

/**
 * The doctor findings that cost a run dearly and need nothing slow to detect, logged when a process
 * that loads or asks for a model starts (`run`, `serve`, `eval`), the same way in each: `num_thread`
 * above the physical cores (16 threads on 2 cores generated 2.4 tokens/s instead of several hundred).
 * A `gpu_index` on a server backend is said too: the server picks its GPU itself. Returns the
 * warning lines it logged.
 */
export function warnRunPitfalls(config: BuilderConfig, cores: CoreCount = detectCores()): string[] {
  const backend = describeBackend(config.backend);
  if (!backend.capabilities.gpuSelection && config.gpuIndex !== undefined)
    getLogger().info(
      { gpu_index: config.gpuIndex },
      `gpu_index ${config.gpuIndex} applies to Builder's embedded engine only; the ${config.backend} server picks its GPU itself (start it with CUDA_VISIBLE_DEVICES=${config.gpuIndex}).`,
    );
  // A remote server's cores are not this machine's.
  const serverUrl = backend.serverUrl(config);
  if (serverUrl !== undefined && !isLocalUrl(serverUrl)) return [];
  const threads = threadPitfall({ options: config.options, cores });
  const lines = threads ? [`${threads.message} ${threads.fix ?? ""}`.trim()] : [];
  for (const line of lines) getLogger().warn(line);
  return lines;
}
