import { Command } from "commander";
import { batchFailure, outcomeLine, runMany } from "../../agent/run-many.js";
import { runTask, RunFailure } from "../../agent/run-task.js";
import { UsageError } from "../../errors/errors.js";
import { parseTaskJson, readStreamText, readTaskFile, taskFromFlags } from "../../task/read-task.js";
import type { BuilderTask } from "../../task/schema.js";
import { formatReport } from "../../telemetry/report.js";
import { addModelFlags, collect, configFromFlags, toInt, type ModelFlags } from "../shared-options.js";

interface RunFlags extends ModelFlags {
  objective?: string;
  file?: string[];
  accept?: string[];
  locMax?: number;
  pack?: string;
  taskId?: string;
  report?: boolean;
  concurrency?: number;
}

/**
 * `builder run`: one task in (stdin, file or flags), one suggestion JSON out on stdout; or several
 * task files, one JSON line per task as each ends.
 */
export function runCommand(): Command {
  const command = new Command("run")
    .description("Generate a suggestion for a coding task (JSON on stdin, a task file, or flags); several task files give one JSON line each")
    .argument("[task-files...]", "task JSON file(s) (default: read stdin when no -m is given)")
    .option("-m, --objective <text>", "the task's objective (builds the task from flags)")
    .option("-f, --file <path>", "a file the task changes (repeatable)", collect)
    .option("--accept <criterion>", "an acceptance criterion (repeatable)", collect)
    .option("--loc-max <n>", "the most lines the change may touch", toInt("--loc-max"))
    .option("--pack <name>", "context pack from builder.config.json")
    .option("--task-id <id>", "task id (default: time based)")
    .option("--report", "print a human verification report on stderr")
    .option("--concurrency <n>", "with several task files: how many run at the same time (default 1)", toInt("--concurrency"));
  addModelFlags(command);
  return command.action(async (taskFiles: string[], flags: RunFlags) => {
    if (flags.concurrency !== undefined && flags.concurrency < 1) throw new UsageError(`--concurrency must be at least 1, got ${flags.concurrency}.`);
    if (taskFiles.length > 1) return runTaskFiles(taskFiles, flags);
    const task = await readTaskInput(taskFiles[0], flags);
    const config = configFromFlags(flags);
    try {
      const result = await runTask(task, { config });
      process.stdout.write(JSON.stringify(result.suggestion, null, 2) + "\n");
      if (flags.report) process.stderr.write(formatReport(result.metrics, result.info, result.suggestion.verification.verdict));
    } catch (error) {
      if (flags.report && error instanceof RunFailure) process.stderr.write(formatReport(error.metrics, error.info, "FAILED"));
      throw error;
    }
  });
}

/** Several task files: one JSON line per task on stdout as each ends; any failure makes the exit code non-zero. */
async function runTaskFiles(taskFiles: string[], flags: RunFlags): Promise<void> {
  if (flags.objective !== undefined || flags.file !== undefined || flags.accept !== undefined) {
    throw new UsageError("Give tasks either as files or as flags (-m, -f, --accept), not both.");
  }
  const config = configFromFlags(flags);
  const outcomes = await runMany(taskFiles, {
    config,
    concurrency: flags.concurrency,
    onOutcome: (outcome) => {
      process.stdout.write(JSON.stringify(outcomeLine(outcome)) + "\n");
      if (!flags.report) return;
      if (outcome.ok) process.stderr.write(formatReport(outcome.result.metrics, outcome.result.info, outcome.result.suggestion.verification.verdict));
      else if (outcome.metrics) process.stderr.write(formatReport(outcome.metrics, undefined, "FAILED"));
    },
  });
  const failure = batchFailure(outcomes);
  if (failure) throw failure;
}

async function readTaskInput(taskFile: string | undefined, flags: RunFlags): Promise<BuilderTask> {
  const fromFlags = flags.objective !== undefined || flags.file !== undefined || flags.accept !== undefined;
  if (taskFile && fromFlags) throw new UsageError("Give the task either as a file or as flags (-m, -f, --accept), not both.");
  if (taskFile) return readTaskFile(taskFile);
  if (fromFlags) {
    if (flags.objective === undefined) throw new UsageError('A task given as flags needs an objective: -m "what to build".');
    return taskFromFlags({ objective: flags.objective, files: flags.file, acceptance: flags.accept, locMax: flags.locMax, pack: flags.pack, taskId: flags.taskId });
  }
  if (process.stdin.isTTY) {
    throw new UsageError('No task given. Pipe task JSON on stdin, pass a task file (builder run task.json), or use flags (builder run -m "objective" -f file.ts).');
  }
  return parseTaskJson(await readStreamText(process.stdin), "stdin");
}
