import { Command, Option } from "commander";
import { RunFailure } from "../../agent/run-failure.js";
import type { ContextExplanation } from "../../context/assemble.js";
import { formatExplanation } from "../../context/explain.js";
import { warnRunPitfalls } from "../../doctor/run-warnings.js";
import type { BuilderConfig } from "../../config/load.js";
import { toBuilderError, UsageError, VerificationFailedError } from "../../errors/errors.js";
import { parseTaskJson, readStreamText, readTaskFile, taskFromFlags } from "../../task/read-task.js";
import type { BuilderTask, Verification } from "../../task/schema.js";
import type { RunTaskResult } from "../../agent/run-task.js";
import { getLogger } from "../../telemetry/logger.js";
import { formatReport } from "../../telemetry/report.js";
import { WorkspaceSandbox } from "../../workspace/sandbox.js";
import { applySuggestion, saveSuggestion } from "../../workspace/suggestion-apply.js";
import { appliedSummary } from "../../agent/events.js";
import { RunOutput, type OutputFormat } from "../run-output.js";
import { drawRunProgress } from "../run-progress.js";
import { printApplyResult } from "../print-apply.js";
import { addModelFlags, collect, configFromFlags, toInt, type ModelFlags } from "../shared-options.js";

interface RunFlags extends ModelFlags {
  objective?: string;
  file?: string[];
  accept?: string[];
  locMax?: number;
  pack?: string;
  taskId?: string;
  report?: boolean;
  apply?: boolean;
  dryRun?: boolean;
  force?: boolean;
  explainContext?: "text" | "json";
  /** false with --no-verify. */
  verify?: boolean;
  maxRepairs?: number;
  concurrency?: number;
  keepAlive?: string;
  stream?: boolean;
  outputFormat?: OutputFormat;
}

/**
 * `builder run`: one task in (stdin, file or flags), one suggestion JSON out on stdout; or several
 * task files, one JSON line per task as each ends.
 */
export function runCommand(): Command {
  const command = new Command("run")
    .description(
      "Generate a suggestion for a coding task (JSON on stdin, a task file, or flags); several task files give one JSON line each",
    )
    .argument("[task-files...]", "task JSON file(s) (default: read stdin when no -m is given)");
  addRunOptions(command);
  addModelFlags(command);
  return command.action(async (taskFiles: string[], flags: RunFlags) => {
    checkRunFlags(flags);
    if (taskFiles.length > 1) return runTaskFiles(taskFiles, flags);
    return runOneTask(taskFiles[0], flags);
  });
}

/** Flag combinations that cannot work, refused before anything runs. */
function checkRunFlags(flags: RunFlags): void {
  if (flags.apply && flags.dryRun)
    throw new UsageError("Choose --apply (write the files) or --dry-run (show the diff), not both.");
  if (flags.force && !flags.apply)
    throw new UsageError("--force only matters with --apply: it writes files that changed since the prompt was built.");
  if (flags.maxRepairs !== undefined && flags.maxRepairs < 0)
    throw new UsageError(`--max-repairs must be 0 or more, got ${flags.maxRepairs}.`);
  if (flags.concurrency !== undefined && flags.concurrency < 1)
    throw new UsageError(`--concurrency must be at least 1, got ${flags.concurrency}.`);
}

/** One task: its suggestion on stdout (or written with --apply, or its diff with --dry-run); a FAILED verdict exits non-zero. */
async function runOneTask(taskFile: string | undefined, flags: RunFlags): Promise<void> {
  const explain = flags.explainContext;
  const output = new RunOutput({
    format: flags.outputFormat ?? "json",
    streamText: flags.stream === true,
    drawProgress: drawRunProgress(),
  });
  try {
    // Inside the try: with stream-json, a bad task or config still ends stdout with a result line.
    const task = await readTaskInput(taskFile, flags);
    const config = runConfig(flags);
    // Loaded when a task runs, so that other commands start without the engine and the compiler.
    const { runTask } = await import("../../agent/run-task.js");
    const result = await runTask(task, {
      config,
      onContext: explain ? (e) => printExplanation(e, explain) : undefined,
      onEvent: output.wantsEvents ? output.listener : undefined,
    }).finally(() => output.end());
    const { verification } = result.suggestion;
    const failed = verification.verdict === "FAILED";
    // A FAILED suggestion is never written; --dry-run may still show its diff (it writes nothing).
    if (flags.dryRun || (flags.apply && !failed)) await applyOrShowDiff(result, config, flags, output);
    // A FAILED suggestion is still printed, so callers can inspect what failed; the exit code says it failed.
    else output.printResult(result);
    if (flags.report)
      process.stderr.write(
        formatReport(result.metrics, result.info, verification.verdict, verification.notes, verification.checks),
      );
    if (failed) throw verificationFailed(verification);
  } catch (error) {
    if (!(error instanceof VerificationFailedError))
      output.printFailure(
        toBuilderError(error instanceof RunFailure ? error.error : error),
        error instanceof RunFailure ? error.metrics : undefined,
      );
    if (flags.report && error instanceof RunFailure)
      process.stderr.write(formatReport(error.metrics, error.info, "FAILED"));
    throw error;
  }
}

/**
 * --apply writes the suggestion (printing it first), --dry-run prints its diff (as the `diff` field with
 * an --output-format); both keep it in .builder/suggestions.
 */
async function applyOrShowDiff(
  result: RunTaskResult,
  config: BuilderConfig,
  flags: RunFlags,
  output: RunOutput,
): Promise<void> {
  const sandbox = await WorkspaceSandbox.fromConfig(config);
  // A dry run writes nothing it needs, so a workspace it cannot save the suggestion in (read-only) still gets its diff.
  const saved = await saveSuggestion(sandbox.root, result.runId, result.suggestion).catch((error: unknown) => {
    if (!flags.dryRun) throw error;
    getLogger().warn(
      { err: error },
      "could not keep the suggestion in .builder/suggestions (the diff follows on stdout); to apply it later, rerun with --apply in a writable workspace",
    );
    return undefined;
  });
  // The suggestion is printed before it is written, so that a failed write still leaves it on stdout.
  if (flags.apply && !output.streaming) output.printResult(result);
  const applied = await applySuggestion(result.suggestion, {
    sandbox,
    runId: result.runId,
    dryRun: flags.dryRun,
    force: flags.force,
    source: "run",
  });
  // Without --output-format, a dry run prints the diff itself (for a person); with one, the diff is a field.
  if (flags.dryRun && flags.outputFormat !== undefined) {
    printApplyResult(applied, { json: false, diff: false });
    output.printResult(result, { diff: applied.diff });
  } else printApplyResult(applied, { json: false });
  if (flags.apply && output.streaming) output.printResult(result, { applied: appliedSummary(applied) });
  if (flags.dryRun && saved)
    getLogger().info({ suggestion: saved }, `to apply this suggestion: builder apply ${saved}`);
}

function verificationFailed(verification: Verification): VerificationFailedError {
  const failedChecks = verification.checks.filter((c) => c.status === "failed").map((c) => c.name);
  return new VerificationFailedError(
    `The suggestion failed verification (${failedChecks.join(", ")}) after ${verification.repair_rounds ?? 0} repair round(s). It is printed on stdout with its diagnostics; nothing was written to the workspace. Try a larger model, a smaller task, or more --max-repairs.`,
    { failed_checks: failedChecks, repair_rounds: verification.repair_rounds ?? 0 },
  );
}

/** The options of `builder run` itself (the model flags come from {@link addModelFlags}). */
function addRunOptions(command: Command): Command {
  return command
    .option("-m, --objective <text>", "the task's objective (builds the task from flags)")
    .option("-f, --file <path>", "a file the task changes (repeatable)", collect)
    .option("--accept <criterion>", "an acceptance criterion (repeatable)", collect)
    .option("--loc-max <n>", "the most lines the change may touch", toInt("--loc-max"))
    .option("--pack <name>", "context pack from builder.config.json")
    .option("--task-id <id>", "task id (default: time based)")
    .option("--report", "print a human verification report on stderr")
    .option(
      "--apply",
      "write the suggestion (and its tests) into the workspace unless it FAILED verification, backed up; undo with builder undo",
    )
    .option("--dry-run", "print the unified diff of the suggestion on stdout instead of the JSON; write nothing")
    .option("--force", "with --apply: write even files that changed since the prompt was built (backed up first)")
    .addOption(
      new Option(
        "--explain-context [format]",
        "print on stderr what went into the prompt, what was dropped, and each part's tokens (text, or json: one JSON line)",
      )
        .choices(["text", "json"])
        .preset("text"),
    )
    .option(
      "--no-verify",
      "skip verification: the suggestion is reported UNVERIFIED (exit 0); with --apply it is written as it is",
    )
    .option(
      "--max-repairs <n>",
      "repair rounds after a failed verification (default 2; 0 = none)",
      toInt("--max-repairs"),
    )
    .option(
      "--concurrency <n>",
      "with several task files: how many run at the same time (default 1)",
      toInt("--concurrency"),
    )
    .option(
      "--stream",
      "print the answer's text on stderr as it is generated (a restarted answer is marked); with stream-json, as answer_text events",
    )
    .addOption(
      new Option(
        "--output-format <format>",
        "json: the suggestion object (default; with --dry-run the diff becomes its diff field); stream-json: one JSON event per line, the result last",
      ).choices(["json", "stream-json"]),
    )
    .option(
      "--keep-alive <duration>",
      "embedded backend: keep the model loaded in the Builder host this long after the run (default 5m; 0 = in-process, no host; -1 = until builder stop)",
    );
}

/** The configuration with this command's flags, verification settings included. */
function runConfig(flags: RunFlags): BuilderConfig {
  const config = configFromFlags(flags, {
    verify: { enabled: flags.verify === false ? false : undefined, maxRepairs: flags.maxRepairs },
    keepAlive: flags.keepAlive,
  });
  warnRunPitfalls(config);
  return config;
}

/** Several task files: one JSON line per task on stdout as each ends; any failure makes the exit code non-zero. */
async function runTaskFiles(taskFiles: string[], flags: RunFlags): Promise<void> {
  if (flags.objective !== undefined || flags.file !== undefined || flags.accept !== undefined) {
    throw new UsageError("Give tasks either as files or as flags (-m, -f, --accept), not both.");
  }
  if (flags.apply || flags.dryRun || flags.explainContext || flags.stream || flags.outputFormat === "stream-json") {
    throw new UsageError(
      "--apply, --dry-run, --explain-context, --stream and --output-format stream-json take one task at a time; run the task files one by one for those.",
    );
  }
  const config = runConfig(flags);
  const { batchFailure, outcomeLine, runMany } = await import("../../agent/run-many.js");
  const outcomes = await runMany(taskFiles, {
    config,
    concurrency: flags.concurrency,
    onOutcome: (outcome) => {
      process.stdout.write(JSON.stringify(outcomeLine(outcome)) + "\n");
      if (!flags.report) return;
      if (outcome.ok)
        process.stderr.write(
          formatReport(
            outcome.result.metrics,
            outcome.result.info,
            outcome.result.suggestion.verification.verdict,
            outcome.result.suggestion.verification.notes,
            outcome.result.suggestion.verification.checks,
          ),
        );
      else if (outcome.metrics) process.stderr.write(formatReport(outcome.metrics, undefined, "FAILED"));
    },
  });
  const failure = batchFailure(outcomes);
  if (failure) throw failure;
}

async function readTaskInput(taskFile: string | undefined, flags: RunFlags): Promise<BuilderTask> {
  const fromFlags = flags.objective !== undefined || flags.file !== undefined || flags.accept !== undefined;
  if (taskFile && fromFlags)
    throw new UsageError("Give the task either as a file or as flags (-m, -f, --accept), not both.");
  if (taskFile) return readTaskFile(taskFile);
  if (fromFlags) {
    if (flags.objective === undefined)
      throw new UsageError('A task given as flags needs an objective: -m "what to build".');
    return taskFromFlags({
      objective: flags.objective,
      files: flags.file,
      acceptance: flags.accept,
      locMax: flags.locMax,
      pack: flags.pack,
      taskId: flags.taskId,
    });
  }
  if (process.stdin.isTTY) {
    throw new UsageError(
      'No task given. Pipe task JSON on stdin, pass a task file (builder run task.json), or use flags (builder run -m "objective" -f file.ts).',
    );
  }
  return parseTaskJson(await readStreamText(process.stdin), "stdin");
}

function printExplanation(explanation: ContextExplanation, format: "text" | "json"): void {
  process.stderr.write(
    format === "json" ? JSON.stringify({ context: explanation }) + "\n" : formatExplanation(explanation),
  );
}
