import { Command } from "commander";
import { applyLogFlags, logLevelOption } from "../shared-options.js";

interface CompareFlags {
  json?: boolean;
  logLevel?: string;
  quiet?: boolean;
}

/** `builder eval compare A.jsonl B.jsonl`: two eval runs side by side, per case and in total. */
export function evalCompareCommand(): Command {
  return new Command("compare")
    .description(
      "Show two eval runs (their JSONL files) side by side: each case's result in both, and both runs' totals",
    )
    .argument("<a>", "the first run's JSONL file")
    .argument("<b>", "the second run's JSONL file")
    .option("--json", "print the comparison as JSON")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr")
    .action(async (a: string, b: string, _flags: CompareFlags, command: Command) => {
      // `builder eval` has a --json of its own: after the subcommand it still lands there, so read both.
      const flags = command.optsWithGlobals<CompareFlags>();
      applyLogFlags(flags);
      const { readEvalRows } = await import("../../eval/results.js");
      const { compareRuns, formatComparison } = await import("../../eval/report.js");
      const comparison = compareRuns(await readEvalRows(a), await readEvalRows(b));
      process.stdout.write(flags.json ? JSON.stringify(comparison) + "\n" : formatComparison(comparison, { a, b }));
    });
}
