import { ConfigError } from "../errors/errors.js";
import { DEFAULT_KEEP_ALIVE_MS, parseKeepAlive } from "../format/keep-alive.js";

/** Default cap of the on-disk prefix cache, in MiB. */
export const DEFAULT_PREFIX_CACHE_MB = 4096;

/** How the embedded engine is kept warm between runs (config `keep_alive`, `speculative`, `prefix_cache_mb`, `num_parallel`, `max_loaded_models`). */
export interface EngineSettings {
  /** How long the Builder host keeps a model loaded after its last request; 0 = run in-process; Infinity = until stopped. */
  keepAliveMs: number;
  /** Prompt-lookup speculative decoding on the embedded engine. */
  speculative: boolean;
  /** Size cap of the on-disk prefix cache in bytes; 0 = off. */
  prefixCacheMaxBytes: number;
  /** Parallel sequences per model of the Builder host it starts (`num_parallel`, `BUILDER_NUM_PARALLEL`). */
  parallel: number;
  /** Models the host it starts keeps loaded side by side (`max_loaded_models`, `BUILDER_MAX_LOADED_MODELS`). */
  maxLoadedModels: number;
  /**
   * Whether runs go to the machine's Builder host (when `keepAliveMs` > 0). The CLI's commands set it:
   * library callers (tests, benchmarks) run in-process unless they ask, so they never leave a host behind.
   */
  host: boolean;
}

/** The config file's fields these settings come from. */
export interface EngineSettingsFile {
  keep_alive?: string | number;
  speculative?: boolean;
  prefix_cache_mb?: number;
  num_parallel?: number;
  max_loaded_models?: number;
}

/** Merges config file, environment (`BUILDER_KEEP_ALIVE`, `BUILDER_SPECULATIVE`, `BUILDER_PREFIX_CACHE_MB`, `BUILDER_NUM_PARALLEL`, `BUILDER_MAX_LOADED_MODELS`) and `--keep-alive`. */
export function resolveEngineSettings(
  file: EngineSettingsFile,
  env: NodeJS.ProcessEnv,
  keepAliveOverride: string | undefined,
): EngineSettings {
  const keepAlive = keepAliveOverride ?? env.BUILDER_KEEP_ALIVE ?? file.keep_alive;
  let keepAliveMs = DEFAULT_KEEP_ALIVE_MS;
  if (keepAlive !== undefined && keepAlive !== "") {
    const parsed = parseKeepAlive(keepAlive);
    if (parsed === undefined) {
      throw new ConfigError(
        `keep_alive "${String(keepAlive)}" is not a duration. Use seconds or a duration such as 30s, 5m or 1h; 0 runs the model in-process; -1 keeps it until builder stop.`,
      );
    }
    keepAliveMs = parsed;
  }
  const speculativeEnv = env.BUILDER_SPECULATIVE;
  let speculative = file.speculative ?? true;
  if (speculativeEnv !== undefined && speculativeEnv !== "") {
    if (!["true", "1", "false", "0"].includes(speculativeEnv))
      throw new ConfigError(`BUILDER_SPECULATIVE="${speculativeEnv}" is not valid. Use true or false.`);
    speculative = speculativeEnv === "true" || speculativeEnv === "1";
  }
  const mbEnv = env.BUILDER_PREFIX_CACHE_MB;
  const mb = mbEnv !== undefined && mbEnv !== "" ? Number(mbEnv) : (file.prefix_cache_mb ?? DEFAULT_PREFIX_CACHE_MB);
  if (!Number.isFinite(mb) || mb < 0)
    throw new ConfigError(
      `BUILDER_PREFIX_CACHE_MB="${String(mbEnv)}" is not a size. Use MiB, 0 to switch the prefix cache off.`,
    );
  return {
    keepAliveMs,
    speculative,
    prefixCacheMaxBytes: Math.round(mb * 1024 * 1024),
    parallel: wholeSetting(env.BUILDER_NUM_PARALLEL, "BUILDER_NUM_PARALLEL", file.num_parallel ?? 1),
    maxLoadedModels: wholeSetting(
      env.BUILDER_MAX_LOADED_MODELS,
      "BUILDER_MAX_LOADED_MODELS",
      file.max_loaded_models ?? DEFAULT_MAX_LOADED_MODELS,
    ),
    host: false,
  };
}

/** Ollama's default `OLLAMA_MAX_LOADED_MODELS` on one device. */
export const DEFAULT_MAX_LOADED_MODELS = 3;

function wholeSetting(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1)
    throw new ConfigError(`${name}="${value}" is not valid. Use a whole number of at least 1.`);
  return number;
}
