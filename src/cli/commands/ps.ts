import { Command } from "commander";
import { loadConfig } from "../../config/load.js";
import { formatTable } from "../../format/table.js";
import { applyLogFlags, logLevelOption } from "../shared-options.js";

interface PsFlags {
  config?: string;
  json?: boolean;
  logLevel?: string;
  quiet?: boolean;
}

/** `builder ps`: the resident engines (model, memory, when they expire). */
export function psCommand(): Command {
  return new Command("ps")
    .description("List resident engines: model, memory, busy sequences, when each exits (keep_alive)")
    .option("--json", "print JSON")
    .option("-c, --config <file>", "builder.config.json to use (for the cache folder)")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr")
    .action(async (flags: PsFlags) => {
      applyLogFlags(flags);
      const { engineDir } = await import("../../backends/resident/engine-paths.js");
      const { listEngines } = await import("../../backends/resident/engine-registry.js");
      const engines = await listEngines(engineDir(loadConfig({ configPath: flags.config })));
      if (flags.json) {
        process.stdout.write(
          JSON.stringify({ engines: engines.map((e) => ({ ...e.info, ...e.status, problem: e.problem })) }, null, 2) +
            "\n",
        );
        return;
      }
      const rows = engines.map((e) => [
        e.info.model,
        String(e.info.pid),
        e.status ? `${(e.status.rss_bytes / 2 ** 30).toFixed(2)} GiB` : "?",
        e.status ? `${e.status.busy}/${e.status.sequences}` : "?",
        e.problem ?? expires(e.status?.expires_at ?? null, e.status?.busy ?? 0),
      ]);
      process.stdout.write(
        formatTable(["MODEL", "PID", "MEMORY", "BUSY", "EXPIRES"], rows, ["left", "right", "right", "right", "left"]),
      );
    });
}

function expires(at: string | null, busy: number): string {
  if (busy > 0) return "busy";
  if (at === null) return "never (until builder stop)";
  const seconds = Math.max(0, Math.round((Date.parse(at) - Date.now()) / 1000));
  return seconds >= 60 ? `in ${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, "0")}s` : `in ${seconds}s`;
}
