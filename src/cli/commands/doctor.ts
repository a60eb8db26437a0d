import { Command, Option } from "commander";
import { formatDoctorReport } from "../../doctor/format-report.js";
import { ChecksFailedError, UsageError } from "../../errors/errors.js";
import { KV_CACHE_TYPES, parseKvCacheType } from "../../models/memory-estimate.js";
import { addModelFlags, applyLogFlags, overridesFromFlags, type ModelFlags } from "../shared-options.js";

interface DoctorFlags extends ModelFlags {
  json?: boolean;
  kvCacheType?: string;
}

/** `builder doctor`: checks the setup and says what to fix; exit 1 when a check fails. */
export function doctorCommand(): Command {
  const command = new Command("doctor")
    .description(
      "Check the setup: backend, model, GPU, threads, memory fit at num_ctx, config pitfalls (exit 1 when a check fails)",
    )
    .option("--json", "print the report as JSON")
    .addOption(
      new Option("--kv-cache-type <type>", "KV cache type to assume for the memory estimate").choices([
        ...KV_CACHE_TYPES,
      ]),
    );
  addModelFlags(command);
  return command.action(async (flags: DoctorFlags) => {
    applyLogFlags(flags);
    const kvCacheType = flags.kvCacheType !== undefined ? parseKvCacheType(flags.kvCacheType) : undefined;
    if (flags.kvCacheType !== undefined && !kvCacheType)
      throw new UsageError(`--kv-cache-type ${flags.kvCacheType} is not a KV cache type.`);
    const { runDoctor } = await import("../../doctor/run-doctor.js");
    const report = await runDoctor({ configPath: flags.config, overrides: overridesFromFlags(flags), kvCacheType });
    process.stdout.write(flags.json ? JSON.stringify(report, null, 2) + "\n" : formatDoctorReport(report));
    if (!report.ok) {
      const failed = report.checks.filter((check) => check.status === "fail").map((check) => check.id);
      throw new ChecksFailedError(
        `${failed.length} check${failed.length === 1 ? "" : "s"} failed: ${failed.join(", ")}. Each says what to fix.`,
        { failed },
      );
    }
  });
}
