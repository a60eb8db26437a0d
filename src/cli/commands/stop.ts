import { Command } from "commander";
import { loadConfig } from "../../config/load.js";
import { UsageError } from "../../errors/errors.js";
import { getLogger } from "../../telemetry/logger.js";
import { applyLogFlags, logLevelOption } from "../shared-options.js";

interface StopFlags {
  config?: string;
  logLevel?: string;
  quiet?: boolean;
}

/** `builder stop [model]`: ends resident engines (all, or those running `model`). */
export function stopCommand(): Command {
  return new Command("stop")
    .description("Stop resident engines: all of them, or those running the given model (path or file name)")
    .argument("[model]", "GGUF path or file name (default: every resident engine)")
    .option("-c, --config <file>", "builder.config.json to use (for the cache folder)")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr")
    .action(async (model: string | undefined, flags: StopFlags) => {
      applyLogFlags(flags);
      const { engineDir } = await import("../../backends/resident/engine-paths.js");
      const { listEngines, matchesModel, stopEngine } = await import("../../backends/resident/engine-registry.js");
      const running = await listEngines(engineDir(loadConfig({ configPath: flags.config })));
      const engines = running.filter((e) => matchesModel(e, model, process.cwd()));
      // As `ollama stop` does: naming a model that no engine runs is an error (a typo must not look like success).
      if (model && engines.length === 0)
        throw new UsageError(
          `No resident engine runs ${model}; nothing was stopped. ${running.length > 0 ? `Running: ${running.map((e) => e.info.model).join(", ")}.` : "No resident engine is running."} See them with \`builder ps\`.`,
        );
      for (const engine of engines) {
        await stopEngine(engine);
        process.stdout.write(`stopped ${engine.info.model} (pid ${engine.info.pid})\n`);
      }
      if (engines.length === 0)
        getLogger().info(model ? `no resident engine runs ${model}` : "no resident engine is running");
    });
}
