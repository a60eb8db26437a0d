import { Command } from "commander";
import type { PrefixCacheUsage } from "../../backends/embedded/prefix-cache-usage.js";
import type { HostStatus, LoadedModel } from "../../backends/host/host-admin.js";
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

/** `builder ps`: the Builder host and each model it holds (once), and the on-disk prefix cache's size. */
export function psCommand(): Command {
  return new Command("ps")
    .description(
      "Show the Builder host and each model it holds: context, sequences, RAM and VRAM, who uses it, when it unloads; and the prefix cache's size on disk",
    )
    .option("--json", "print JSON")
    .option("-c, --config <file>", "builder.config.json to use (for the cache folder)")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr")
    .action(async (flags: PsFlags) => {
      applyLogFlags(flags);
      const config = loadConfig({ configPath: flags.config });
      const { hostDir } = await import("../../backends/host/host-files.js");
      const { hostStatus } = await import("../../backends/host/host-admin.js");
      const { prefixCacheDir } = await import("../../backends/embedded/embedded-backend.js");
      const { prefixCacheUsage } = await import("../../backends/embedded/prefix-cache-usage.js");
      const status = await hostStatus(hostDir(config));
      const cache = await prefixCacheUsage(prefixCacheDir(config.modelCacheDir));
      process.stdout.write(flags.json ? psJson(status, cache, config) : psTable(status, cache, config));
    });
}

function psJson(status: HostStatus, cache: PrefixCacheUsage, config: BuilderConfig): string {
  const host = status.record
    ? {
        pid: status.record.pid,
        kind: status.record.kind,
        started_at: status.record.started_at,
        socket: status.record.socket,
        url: status.record.url ?? null,
        log: status.record.log,
        rss_bytes: typeof status.host?.rss_bytes === "number" ? status.host.rss_bytes : null,
        problem: status.problem ?? null,
      }
    : null;
  const models = status.models.map((m) => ({ ...m, prefix_cache_bytes: cache.byModel[m.model_path] ?? 0 }));
  const prefixCache = {
    dir: cache.dir,
    bytes: cache.bytes,
    entries: cache.entries,
    max_bytes: config.engine?.prefixCacheMaxBytes ?? null,
    by_model: cache.byModel,
  };
  return JSON.stringify({ host, models, stale: status.stale ?? null, prefix_cache: prefixCache }, null, 2) + "\n";
}

function psTable(status: HostStatus, cache: PrefixCacheUsage, config: BuilderConfig): string {
  const rows = status.models.map((m) => [
    m.model_path,
    String(m.pid),
    String(m.context_length),
    `${m.busy}/${m.sequences}${m.queued > 0 ? ` +${m.queued} queued` : ""}`,
    formatBytes(m.ram_bytes),
    formatBytes(m.size_vram),
    users(m),
    formatBytes(cache.byModel[m.model_path] ?? 0),
    until(m),
  ]);
  const table = formatTable(
    ["MODEL", "PID", "CONTEXT", "BUSY", "RAM", "VRAM", "USED BY", "PREFIX CACHE", "UNTIL"],
    rows,
    ["left", "right", "right", "right", "right", "right", "left", "right", "left"],
  );
  const cap = config.engine ? `, cap ${formatBytes(config.engine.prefixCacheMaxBytes)}` : "";
  return `${hostLine(status)}${table}prefix cache: ${formatBytes(cache.bytes)} in ${cache.entries} state file(s)${cap} (${cache.dir})\n`;
}

function hostLine(status: HostStatus): string {
  const stale = status.stale ? ` (removed the record of a host that is gone: ${status.stale})` : "";
  const record = status.record;
  if (!record) return `host: none running${stale}\n`;
  const kind = record.kind === "serve" ? `builder serve at ${record.url ?? "?"}` : "background";
  const rss = typeof status.host?.rss_bytes === "number" ? `, ${formatBytes(status.host.rss_bytes)} resident` : "";
  return `host: pid ${record.pid} (${kind}${rss}), socket ${record.socket}${status.problem ? `; ${status.problem}` : ""}\n`;
}

function users(model: LoadedModel): string {
  if (model.users.length === 0) return "-";
  return model.users.map((u) => u.client).join("; ");
}

function until(model: LoadedModel): string {
  if (model.busy > 0) return "busy";
  const at = Date.parse(model.expires_at);
  if (new Date(at).getUTCFullYear() >= 2318) return "never (until builder stop)";
  const seconds = Math.max(0, Math.round((at - Date.now()) / 1000));
  return seconds >= 60 ? `in ${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s` : `in ${seconds}s`;
}
