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

/** `builder stop [model]`: stops the Builder host, or unloads one model from it. */
export function stopCommand(): Command {
  return new Command("stop")
    .description(
      "Stop the Builder host (running answers end; runs go on in-process), or unload the given model from it (path, file name or name)",
    )
    .argument("[model]", "GGUF path, file name or model name (default: stop the whole host)")
    .option("-c, --config <file>", "builder.config.json to use (for the cache folder)")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr")
    .action(async (model: string | undefined, flags: StopFlags) => {
      applyLogFlags(flags);
      const { hostDir } = await import("../../backends/host/host-files.js");
      const admin = await import("../../backends/host/host-admin.js");
      const status = await admin.hostStatus(hostDir(loadConfig({ configPath: flags.config })));
      const logger = getLogger();
      if (status.stale) logger.info(`removed the record and socket of a Builder host that is gone: ${status.stale}`);
      const record = status.record;
      if (!record) {
        // As `ollama stop` does: naming a model that nothing runs is an error (a typo must not look like success).
        if (model !== undefined)
          throw new UsageError(`No Builder host is running, so nothing runs ${model}; nothing was stopped.`);
        logger.info("no Builder host is running");
        return;
      }
      if (model === undefined) {
        await admin.stopHost(status);
        process.stdout.write(`stopped the Builder host (pid ${record.pid})\n`);
        return;
      }
      const matching = status.models.filter((m) => admin.matchesModel(m, model, process.cwd()));
      for (const loaded of matching) {
        await admin.unloadModel(status, loaded);
        process.stdout.write(`stopped ${loaded.model_path} (unloaded from the Builder host, pid ${record.pid})\n`);
      }
      if (matching.length === 0)
        throw new UsageError(
          `The Builder host holds no model matching ${model}; nothing was stopped. ${status.models.length > 0 ? `Loaded: ${status.models.map((m) => m.model_path).join(", ")}.` : "It holds no model."} See them with \`builder ps\`.`,
        );
      // A background host holding nothing more exits by itself: wait, so that its memory is free on return.
      else if (record.kind === "background" && matching.length === status.models.length)
        await admin.exited(record, 10_000);
    });
}
