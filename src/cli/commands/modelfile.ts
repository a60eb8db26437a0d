import { Command } from "commander";
import { BuilderError } from "../../errors/errors.js";
import { createOllamaModel } from "../../modelfile/create.js";
import { modelfileFromConfig } from "../../modelfile/from-config.js";
import { renderModelfile } from "../../modelfile/render.js";
import { validateModelfile } from "../../modelfile/syntax.js";
import { getLogger } from "../../telemetry/logger.js";
import { writeWithBackup } from "../../workspace/backup-overwrite.js";
import { addModelFlags, configFromFlags, toInt, type ModelFlags } from "../shared-options.js";

interface ModelfileFlags extends ModelFlags {
  out?: string;
  fewShot?: number;
  fewShotTokens?: number;
  create?: string;
}

/** `builder modelfile`: an Ollama Modelfile from the config; `--create NAME` sends it to Ollama. */
export function modelfileCommand(): Command {
  const command = new Command("modelfile")
    .description(
      "Write an Ollama Modelfile: FROM the configured model, PARAMETER lines from options, SYSTEM from the knowledge base, optional MESSAGE pairs from verified runs",
    )
    .option("-o, --out <file>", "write the Modelfile here (atomically) instead of stdout")
    .option("--few-shot <n>", "add the n best verified examples as MESSAGE pairs", toInt("--few-shot"), 0)
    .option(
      "--few-shot-tokens <n>",
      "token budget of the MESSAGE pairs (default: few_shot.max_tokens or 2048)",
      toInt("--few-shot-tokens"),
    )
    .option(
      "--create <name>",
      "also create the model on the Ollama server (POST /api/create): needs --backend ollama, so FROM is a model the server has; --host picks the server",
    );
  addModelFlags(command);
  return command.action(async (flags: ModelfileFlags) => {
    const config = configFromFlags(flags);
    const logger = getLogger();
    const parts = await modelfileFromConfig(config, {
      fewShot: flags.fewShot ?? 0,
      fewShotTokens: flags.fewShotTokens ?? config.fewShot?.maxTokens ?? 2048,
    });
    const { text, changes } = renderModelfile(parts);
    const validation = validateModelfile(text);
    if (!validation.ok) {
      throw new BuilderError(
        "INTERNAL",
        `Builder wrote a Modelfile that does not validate: ${validation.errors.map((e) => `line ${e.line}: ${e.message}`).join("; ")}. Please report it.`,
      );
    }
    for (const change of changes) logger.warn(`Modelfile: ${change}.`);
    for (const warning of validation.warnings) logger.warn(`Modelfile: ${warning.message}.`);
    if (flags.out) {
      const { backup } = await writeWithBackup(flags.out, text);
      process.stderr.write(
        `Wrote ${flags.out} (FROM ${parts.from}, ${parts.parameters.length} parameters, ${parts.messages.length / 2} example pairs)${backup ? `; the previous file is kept as ${backup}` : ""}.\n`,
      );
    } else {
      process.stdout.write(text);
    }
    if (flags.create) {
      const status = await createOllamaModel(config.ollama.host, flags.create, parts);
      process.stderr.write(`Created Ollama model ${flags.create} at ${config.ollama.host} (status: ${status}).\n`);
    }
  });
}
