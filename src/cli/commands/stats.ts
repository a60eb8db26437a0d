import { Command } from "commander";
import { loadConfig } from "../../config/load.js";
import { periodFromFlags } from "../../stats/period.js";
import { computeStats } from "../../stats/run-stats.js";
import { formatStats } from "../../stats/format-stats.js";
import { metricsFile } from "../../telemetry/metrics.js";
import { applyLogFlags, logLevelOption } from "../shared-options.js";

/** Flags shared by `builder stats` and `builder cost`. */
export interface MetricsFlags {
  config?: string;
  workspace?: string;
  metrics?: string;
  since?: string;
  until?: string;
  json?: boolean;
  logLevel?: string;
  quiet?: boolean;
}

/** Adds the period and file flags to a metrics command. */
export function addMetricsFlags(command: Command): Command {
  return command
    .option("--since <when>", "only runs at or after: ISO date/time or an age (30m, 24h, 7d, 2w)")
    .option("--until <when>", "only runs at or before: ISO date/time or an age")
    .option("--json", "print JSON")
    .option("--metrics <file>", "metrics file (default: <workspace>/.builder/metrics.jsonl)")
    .option("-c, --config <file>", "builder.config.json to use")
    .option("-w, --workspace <dir>", "workspace root")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr");
}

/** The metrics file the flags point at. */
export function metricsFileFromFlags(flags: MetricsFlags): string {
  if (flags.metrics) return flags.metrics;
  const config = loadConfig({ configPath: flags.config, overrides: { workspace: flags.workspace } });
  return metricsFile(config.workspace);
}

/** `builder stats`: runs, success and verified rates, latency, speed, per backend and model. */
export function statsCommand(): Command {
  const command = new Command("stats").description(
    "Run statistics from .builder/metrics.jsonl per backend and model: success and verified rates, latency p50/p95, tokens/s, time to first token, repair rounds",
  );
  addMetricsFlags(command);
  return command.action(async (flags: MetricsFlags) => {
    applyLogFlags(flags);
    const period = periodFromFlags(flags.since, flags.until);
    const report = await computeStats(metricsFileFromFlags(flags), period);
    process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + "\n" : formatStats(report));
  });
}
