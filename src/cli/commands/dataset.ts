import { Command, Option } from "commander";
import { loadConfig } from "../../config/load.js";
import { DATASET_FORMATS, describeExport, exportDataset, type DatasetFormat } from "../../learning/dataset-export.js";
import { trainingFile } from "../../learning/training-example.js";
import { applyLogFlags, logLevelOption, toInt, toNumber } from "../shared-options.js";

interface ExportFlags {
  format: DatasetFormat;
  out?: string;
  split?: number;
  seed?: number;
  valOut?: string;
  source?: string;
  config?: string;
  workspace?: string;
  logLevel?: string;
  quiet?: boolean;
}

/** `builder dataset export`: verified runs as fine-tuning JSONL. */
export function datasetCommand(): Command {
  const dataset = new Command("dataset").description("Training data recorded from verified runs");
  dataset.addCommand(
    new Command("export")
      .description(
        "Write VERIFIED runs (.builder/training/verified.jsonl) as JSONL for fine-tuning tools: deduplicated, optional train/validation split",
      )
      .addOption(
        new Option("--format <format>", "chat (messages), alpaca, or sharegpt")
          .choices([...DATASET_FORMATS])
          .default("chat"),
      )
      .option("-o, --out <file>", "write here (atomically) instead of stdout")
      .option(
        "--split <share>",
        "train share between 0 and 1, e.g. 0.9; the rest goes to the validation file",
        toNumber("--split"),
      )
      .option("--val-out <file>", "validation file (default: --out with .val before the extension)")
      .option("--seed <n>", "seed of the train/validation split (default 42)", toInt("--seed"))
      .option("--source <file>", "verified examples file (default: <workspace>/.builder/training/verified.jsonl)")
      .option("-c, --config <file>", "builder.config.json to use")
      .option("-w, --workspace <dir>", "workspace root")
      .addOption(logLevelOption())
      .option("-q, --quiet", "only warnings and errors on stderr")
      .action(async (flags: ExportFlags) => {
        applyLogFlags(flags);
        const source =
          flags.source ??
          trainingFile(
            loadConfig({ configPath: flags.config, overrides: { workspace: flags.workspace } }).workspace,
            "VERIFIED",
          );
        const { summary, stdout } = await exportDataset({
          source,
          format: flags.format,
          out: flags.out,
          split: flags.split,
          valOut: flags.valOut,
          seed: flags.seed,
        });
        if (stdout !== undefined) process.stdout.write(stdout);
        process.stderr.write(describeExport(summary) + "\n");
      }),
  );
  return dataset;
}
