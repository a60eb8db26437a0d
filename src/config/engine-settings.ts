import { ConfigError } from "../errors/errors.js";
import { DEFAULT_KEEP_ALIVE_MS, parseKeepAlive } from "../format/keep-alive.js";

/** Default cap of the on-disk prefix cache, in MiB. */
export const DEFAULT_PREFIX_CACHE_MB = 4096;

/** How the embedded engine is kept warm between runs (config `keep_alive`, `speculative`, `prefix_cache_mb`). */
export interface EngineSettings {
  /** How long a resident engine stays loaded after its last request; 0 = run in-process; Infinity = until stopped. */
  keepAliveMs: number;
  /** Prompt-lookup speculative decoding on the embedded engine. */
  speculative: boolean;
  /** Size cap of the on-disk prefix cache in bytes; 0 = off. */
  prefixCacheMaxBytes: number;
  /**
   * Whether runs go to a resident engine (when `keepAliveMs` > 0). Only `builder run` sets it: library
   * callers (tests, benchmarks, `builder serve`) run in-process unless they ask, so they never leave
   * engine processes behind.
   */
  resident: boolean;
}

/** The config file's fields these settings come from. */
export interface EngineSettingsFile {
  keep_alive?: string | number;
  speculative?: boolean;
  prefix_cache_mb?: number;
}

/** Merges config file, environment (`BUILDER_KEEP_ALIVE`, `BUILDER_SPECULATIVE`, `BUILDER_PREFIX_CACHE_MB`) and `--keep-alive`. */
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
  return { keepAliveMs, speculative, prefixCacheMaxBytes: Math.round(mb * 1024 * 1024), resident: false };
}
