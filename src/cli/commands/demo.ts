import { Command } from "commander";
import { formatReport } from "../../telemetry/report.js";
import { toThreads } from "../shared-options.js";

/** `builder demo`: the sample task on a synthesized model, fully offline. */
export function demoCommand(): Command {
  return new Command("demo")
    .description("Run the sample CRM task offline on a tiny synthesized model (gibberish output, real pipeline)")
    .option("--threads <n>", "CPU threads, a positive whole number (default, or 0 / auto: measured once)", toThreads)
    .action(async (flags: { threads?: number }) => {
      // Loaded when the demo runs, so that other commands start without the engine and the compiler.
      const { DEMO_BANNER, runDemo } = await import("../../demo/run-demo.js");
      process.stderr.write(DEMO_BANNER + "\n");
      const result = await runDemo({ threads: flags.threads });
      process.stdout.write(JSON.stringify(result.suggestion, null, 2) + "\n");
      process.stderr.write(formatReport(result.metrics, result.info, result.suggestion.verification.verdict));
    });
}
