import { Command } from "commander";
import { loadConfig } from "../../config/load.js";
import { computeCost, resolveCostSettings } from "../../stats/cost.js";
import { formatCost } from "../../stats/format-stats.js";
import { periodFromFlags } from "../../stats/period.js";
import { computeStats } from "../../stats/run-stats.js";
import { metricsFile } from "../../telemetry/metrics.js";
import { applyLogFlags } from "../shared-options.js";
import { addMetricsFlags, type MetricsFlags } from "./stats.js";

/** `builder cost`: local electricity cost of the recorded runs against API prices for the same tokens. */
export function costCommand(): Command {
  const command = new Command("cost").description(
    "Local cost (measured run time × power × electricity price) against API prices for the same measured tokens; savings and break-even. Defaults are labelled",
  );
  addMetricsFlags(command);
  return command.action(async (flags: MetricsFlags) => {
    applyLogFlags(flags);
    const period = periodFromFlags(flags.since, flags.until);
    const config = loadConfig({ configPath: flags.config, overrides: { workspace: flags.workspace } });
    const stats = await computeStats(flags.metrics ?? metricsFile(config.workspace), period);
    const report = computeCost(stats, resolveCostSettings(config.cost ?? {}));
    process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + "\n" : formatCost(report));
  });
}
