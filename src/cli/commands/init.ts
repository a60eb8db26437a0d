import { Command } from "commander";
import { findBackendDescriptor } from "../../backends/descriptors.js";
import { planInit, writeInit } from "../../init/init.js";
import { applyLogFlags, logLevelOption } from "../shared-options.js";

interface InitFlags {
  force?: boolean;
  dryRun?: boolean;
  json?: boolean;
  logLevel?: string;
  quiet?: boolean;
}

/** `builder init [dir]`: writes builder.config.json from an existing agent setup (config.json, .ollamarc, knowledge base, Modelfile). */
export function initCommand(): Command {
  return new Command("init")
    .description(
      "Write builder.config.json from an existing setup (agent-system config.json, .ollamarc, agents/ollama-knowledge/, Modelfile), printing what was mapped and dropped",
    )
    .argument("[dir]", "the project folder", ".")
    .option("--force", "replace an existing builder.config.json (backed up first)")
    .option("--dry-run", "print the config without writing it")
    .option("--json", "print the plan as JSON")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr")
    .action(async (dir: string, flags: InitFlags) => {
      applyLogFlags(flags);
      const plan = await planInit(dir);
      const result = flags.dryRun ? undefined : await writeInit(plan, { force: flags.force });
      if (flags.json) {
        process.stdout.write(
          JSON.stringify({ ...plan, written: result?.written ?? null, backup: result?.backup ?? null }, null, 2) + "\n",
        );
        return;
      }
      const lines = [
        result
          ? `Wrote ${result.written}${result.backup ? ` (the previous one is in ${result.backup})` : ""} from ${plan.sources.join(", ")}.`
          : `Would write ${plan.target} from ${plan.sources.join(", ")}:`,
        ...(result ? [] : [JSON.stringify(plan.config, null, 2)]),
        "Mapped:",
        ...plan.mapped.map((line) => `  ${line}`),
        ...(plan.dropped.length > 0 ? ["Dropped:", ...plan.dropped.map((line) => `  ${line}`)] : []),
        ...afterInitNotes(plan.config),
      ];
      process.stdout.write(lines.join("\n") + "\n");
    });
}

/** What changes for the user once the file is written: which files are no longer read, and where a GPU number applies. */
function afterInitNotes(config: Record<string, unknown>): string[] {
  const notes: string[] = [];
  const migrated = Array.isArray(config.migrated_from) ? (config.migrated_from as string[]) : [];
  if (migrated.includes(".ollamarc"))
    notes.push(
      "Builder now reads builder.config.json and no longer reads this folder's .ollamarc (its keys are in the file; keep .ollamarc for other tools or delete it).",
    );
  const backend = typeof config.backend === "string" ? findBackendDescriptor(config.backend) : undefined;
  if (backend && !backend.capabilities.gpuSelection && typeof config.gpu_index === "number")
    notes.push(
      `gpu_index ${config.gpu_index} is for Builder's embedded engine; ${backend.displayName} picks its GPU itself: start the server with CUDA_VISIBLE_DEVICES=${config.gpu_index}.`,
    );
  return notes.length > 0 ? ["Notes:", ...notes.map((line) => `  ${line}`)] : [];
}
