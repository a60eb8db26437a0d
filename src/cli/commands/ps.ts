import { Command } from "commander";
import type { PrefixCacheUsage } from "../../backends/embedded/prefix-cache-usage.js";
import type { ResidentEngine } from "../../backends/resident/engine-registry.js";
import { loadConfig, type BuilderConfig } from "../../config/load.js";
import { formatBytes } from "../../format/numbers.js";
import { formatTable } from "../../format/table.js";
import { applyLogFlags, logLevelOption } from "../shared-options.js";

interface PsFlags {
  config?: string;
  json?: boolean;
  logLevel?: string;
  quiet?: boolean;
}

/** `builder ps`: the resident engines (model, memory, when they expire) and the on-disk prefix cache's size. */
export function psCommand(): Command {
  return new Command("ps")
    .description(
      "List resident engines: model, memory, busy sequences, when each exits (keep_alive); and the prefix cache's size on disk",
    )
    .option("--json", "print JSON")
    .option("-c, --config <file>", "builder.config.json to use (for the cache folder)")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr")
    .action(async (flags: PsFlags) => {
      applyLogFlags(flags);
      const config = loadConfig({ configPath: flags.config });
      const { engineDir } = await import("../../backends/resident/engine-paths.js");
      const { listEngines } = await import("../../backends/resident/engine-registry.js");
      const { prefixCacheDir } = await import("../../backends/embedded/embedded-backend.js");
      const { prefixCacheUsage } = await import("../../backends/embedded/prefix-cache-usage.js");
      const engines = await listEngines(engineDir(config));
      const cache = await prefixCacheUsage(prefixCacheDir(config.modelCacheDir));
      process.stdout.write(flags.json ? psJson(engines, cache, config) : psTable(engines, cache, config));
    });
}

function psJson(engines: ResidentEngine[], cache: PrefixCacheUsage, config: BuilderConfig): string {
  const listed = engines.map((e) => ({
    ...e.info,
    ...e.status,
    problem: e.problem,
    prefix_cache_bytes: cache.byModel[e.info.model] ?? 0,
  }));
  const prefixCache = {
    dir: cache.dir,
    bytes: cache.bytes,
    entries: cache.entries,
    max_bytes: config.engine?.prefixCacheMaxBytes ?? null,
    by_model: cache.byModel,
  };
  return JSON.stringify({ engines: listed, prefix_cache: prefixCache }, null, 2) + "\n";
}

function psTable(engines: ResidentEngine[], cache: PrefixCacheUsage, config: BuilderConfig): string {
  const rows = engines.map((e) => [
    e.info.model,
    String(e.info.pid),
    e.status ? `${(e.status.rss_bytes / 2 ** 30).toFixed(2)} GiB` : "?",
    e.status ? `${e.status.busy}/${e.status.sequences}` : "?",
    formatBytes(cache.byModel[e.info.model] ?? 0),
    e.problem ?? expires(e.status?.expires_at ?? null, e.status?.busy ?? 0),
  ]);
  const table = formatTable(["MODEL", "PID", "MEMORY", "BUSY", "PREFIX CACHE", "EXPIRES"], rows, [
    "left",
    "right",
    "right",
    "right",
    "right",
    "left",
  ]);
  const cap = config.engine ? `, cap ${formatBytes(config.engine.prefixCacheMaxBytes)}` : "";
  return `${table}prefix cache: ${formatBytes(cache.bytes)} in ${cache.entries} state file(s)${cap} (${cache.dir})\n`;
}

function expires(at: string | null, busy: number): string {
  if (busy > 0) return "busy";
  if (at === null) return "never (until builder stop)";
  const seconds = Math.max(0, Math.round((Date.parse(at) - Date.now()) / 1000));
  return seconds >= 60 ? `in ${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s` : `in ${seconds}s`;
}
