import type { BuilderConfig } from "../config/load.js";
import { detectCores, type CoreCount } from "../system/cpu-cores.js";
import { isLocalUrl } from "../system/memory-budget.js";
import { getLogger } from "../telemetry/logger.js";
import { threadPitfall } from "./pitfalls.js";

/**
 * The doctor findings that cost a run dearly and need nothing slow to detect, logged as warnings when
 * a run starts (`num_thread` above the physical cores made generation ~40× slower here). Returns the
 * lines it logged.
 */
export function warnRunPitfalls(config: BuilderConfig, cores: CoreCount = detectCores()): string[] {
  // A remote server's cores are not this machine's.
  const local =
    config.backend === "embedded" ||
    isLocalUrl(config.backend === "ollama" ? config.ollama.host : config.openai.baseUrl);
  if (!local) return [];
  const threads = threadPitfall({ options: config.options, cores });
  const lines = threads ? [`${threads.message} ${threads.fix ?? ""}`.trim()] : [];
  for (const line of lines) getLogger().warn(line);
  return lines;
}
