import path from "node:path";
import { Command } from "commander";
import type { Logger } from "pino";
import type { BuilderConfig } from "../../config/load.js";
import { UsageError } from "../../errors/errors.js";
import type { EvalCase } from "../../eval/case.js";
import type { EvalSummary } from "../../eval/results.js";
import type { CaseSource, SelectedCases } from "../../eval/select-cases.js";
import type { ValidationResult } from "../../eval/validate.js";
import { getLogger } from "../../telemetry/logger.js";
import { warnRunPitfalls } from "../../doctor/run-warnings.js";
import { newRunId } from "../../format/run-id.js";
import { checkedBuilderPath } from "../../workspace/builder-dir.js";
import { addModelFlags, configFromFlags, toInt, type ModelFlags } from "../shared-options.js";
import { createEvalProgress } from "../eval-progress.js";
import { evalCompareCommand } from "./eval-compare.js";

interface EvalFlags extends ModelFlags {
  suite?: string;
  fromGit?: boolean;
  repo?: string;
  range?: string;
  testCommand?: string;
  validate?: boolean;
  reference?: boolean;
  limit?: number;
  out?: string;
  resume?: boolean;
  concurrency?: number;
  json?: boolean;
  /** false with --no-verify. */
  verify?: boolean;
  maxRepairs?: number;
}

/**
 * `builder eval`: runs a suite of cases (a suite folder, the shipped `builtin` suite, or cases from a
 * repository's history) against the model, each in its own scratch copy, decides pass or fail with
 * hidden tests, and reports. `builder eval compare` puts two runs side by side.
 */
export function evalCommand(): Command {
  const command = new Command("eval")
    .description(
      "Measure a model on real tasks: a suite (builtin, or a folder) or your repository's history (--from-git); hidden tests decide pass or fail",
    )
    .argument("[suite]", "suite folder, or the name of a shipped suite (builtin)");
  addEvalOptions(command);
  addModelFlags(command);
  command.addCommand(evalCompareCommand());
  return command.action((suiteArg: string | undefined, flags: EvalFlags) => runEvalCommand(suiteArg, flags));
}

/** The action of `builder eval`: selects the cases, validates them if asked, runs them and reports. */
async function runEvalCommand(suiteArg: string | undefined, flags: EvalFlags): Promise<void> {
  const source = caseSource(suiteArg, flags);
  refuseBadFlags(flags);
  const config = configFromFlags(flags, {
    verify: { enabled: flags.verify === false ? false : undefined, maxRepairs: flags.maxRepairs },
  });
  const logger = getLogger();
  // The same setting checks as `builder run`: an eval runs the model too.
  if (!flags.reference) warnRunPitfalls(config);
  const selected = await selectEvalCases(source, flags, config, logger);
  const concurrency = flags.concurrency ?? 1;
  const checkTimeoutMs = config.verify.testTimeoutMs;
  let cases: EvalCase[] = selected.cases;
  let validation: ValidationResult | undefined;
  if (flags.validate) {
    validation = await validate(cases, config, concurrency, checkTimeoutMs);
    cases = validation.valid;
  }
  const out = flags.out ? path.resolve(flags.out) : await defaultOut(config, selected.suiteName);
  const { runEval } = await import("../../eval/run-eval.js");
  const { summarize } = await import("../../eval/results.js");
  const { formatEvalTable } = await import("../../eval/report.js");
  const progress = createEvalProgress(process.stderr.isTTY === true);
  let result;
  try {
    result = await runEval({
      cases,
      suite: selected.suiteName,
      config,
      out,
      concurrency,
      checkTimeoutMs,
      logger,
      answerer: flags.reference ? "reference" : "model",
      resume: flags.resume === true,
      onStart: (toRun, done) => progress.start(toRun, done),
      onRow: (row) => progress.row(row),
    });
  } finally {
    progress.stop();
  }
  const summary = summarize(result.rows);
  process.stderr.write(formatEvalTable(result.rows, summary));
  printSummary({
    suite: selected.suiteName,
    out,
    summary,
    ran: result.ran,
    resumed: result.resumed,
    validation,
    selected: selected.cases.length,
    skippedCommits: selected.skipped.length,
    json: flags.json === true,
  });
}

/** Flag combinations and values that cannot work, refused before anything is loaded. */
function refuseBadFlags(flags: EvalFlags): void {
  if (flags.resume && !flags.out)
    throw new UsageError("--resume needs --out: the JSONL file of the run to go on with.");
  if (flags.concurrency !== undefined && flags.concurrency < 1)
    throw new UsageError(`--concurrency must be at least 1, got ${flags.concurrency}.`);
  if (flags.maxRepairs !== undefined && flags.maxRepairs < 0)
    throw new UsageError(`--max-repairs must be 0 or more, got ${flags.maxRepairs}.`);
}

/**
 * The cases of the suite, or of the repository's history (the workspace's, unless --repo), logging
 * the commits left out.
 */
async function selectEvalCases(
  source: CaseSource,
  flags: EvalFlags,
  config: BuilderConfig,
  logger: Logger,
): Promise<SelectedCases> {
  const { selectCases } = await import("../../eval/select-cases.js");
  const withRepo: CaseSource =
    source.kind === "git"
      ? {
          ...source,
          repo: path.resolve(flags.repo ?? config.workspace),
          testCommand: flags.testCommand ?? config.eval?.testCommand,
        }
      : source;
  const selected = await selectCases(withRepo, flags.limit);
  if (selected.skipped.length > 0)
    logger.info(
      { skipped: selected.skipped.length, commits: selected.skipped },
      `${selected.skipped.length} commit(s) did not make a case`,
    );
  return selected;
}

/** The options of `builder eval` itself (the model flags come from {@link addModelFlags}). */
function addEvalOptions(command: Command): Command {
  return command
    .option("--suite <name>", "suite folder or shipped suite name (builtin)")
    .option("--from-git", "build the cases from the repository's commits (with --range)")
    .option("--repo <dir>", "with --from-git: the repository (default: the workspace)")
    .option("--range <A..B>", "with --from-git: the commits to consider (git log range)")
    .option(
      "--test-command <cmd>",
      "with --from-git: runs the hidden tests, {files} = the commit's test files (default: eval.test_command, else npm test)",
    )
    .option(
      "--validate",
      "keep only cases whose tests fail before and pass with the known-good change; say what was dropped and why",
    )
    .option("--reference", "answer each case with its known-good change instead of a model (checks the suite itself)")
    .option("--limit <n>", "run only the first n cases", toInt("--limit"))
    .option("-o, --out <file>", "JSONL results, one row per case (default: .builder/eval/<suite>-<time>.jsonl)")
    .option("--resume", "go on with an interrupted run: skip the cases --out already has")
    .option(
      "--concurrency <n>",
      "cases at the same time (default 1; over an endpoint pool, spread over its servers)",
      toInt("--concurrency"),
    )
    .option("--json", "print the summary as JSON on stdout")
    .option("--no-verify", "skip Builder's own verification of each answer")
    .option("--max-repairs <n>", "repair rounds after a failed verification (default 2)", toInt("--max-repairs"));
}

/** Which cases the arguments ask for (exactly one source). */
function caseSource(suiteArg: string | undefined, flags: EvalFlags): CaseSource {
  const suite = suiteArg ?? flags.suite;
  if (suiteArg && flags.suite) throw new UsageError("Give the suite once: as an argument or with --suite.");
  if (flags.fromGit) {
    if (suite) throw new UsageError("Choose a suite or --from-git, not both.");
    if (!flags.range)
      throw new UsageError("--from-git needs --range A..B: the commits to make cases of (e.g. --range HEAD~30..HEAD).");
    return { kind: "git", repo: "", range: flags.range };
  }
  if (flags.repo || flags.range || flags.testCommand)
    throw new UsageError("--repo, --range and --test-command go with --from-git.");
  if (!suite)
    throw new UsageError(
      "Name a suite (builder eval --suite builtin, or a suite folder) or use --from-git --range A..B.",
    );
  return { kind: "suite", suite };
}

async function validate(
  cases: EvalCase[],
  config: BuilderConfig,
  concurrency: number,
  checkTimeoutMs: number,
): Promise<ValidationResult> {
  const { validateCases } = await import("../../eval/validate.js");
  const { formatValidation } = await import("../../eval/report.js");
  const logger = getLogger();
  const started = performance.now();
  const result = await validateCases(cases, {
    checkTimeoutMs,
    concurrency,
    logger,
    deny: config.deny,
    sandbox: config.verify.sandbox,
    onCase: (caseId, dropped) =>
      logger.info(
        { case: caseId, kept: !dropped, ...(dropped ? { reason: dropped.reason, detail: dropped.detail } : {}) },
        dropped ? "case dropped" : "valid case",
      ),
  });
  process.stderr.write(formatValidation(result.valid.length, result.dropped));
  logger.info(
    {
      valid: result.valid.length,
      dropped: result.dropped.length,
      validate_ms: Math.round(performance.now() - started),
      case_ms: result.caseMs,
    },
    "validation finished",
  );
  return result;
}

async function defaultOut(config: BuilderConfig, suiteName: string): Promise<string> {
  const slug = suiteName.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._-]+/, "") || "eval";
  return checkedBuilderPath(
    config.workspace,
    path.join(config.workspace, ".builder", "eval", `${slug}-${newRunId()}.jsonl`),
  );
}

interface SummaryOutput {
  suite: string;
  out: string;
  summary: EvalSummary;
  ran: number;
  resumed: number;
  selected: number;
  skippedCommits: number;
  validation?: ValidationResult;
  json: boolean;
}

/** stdout: the summary (JSON with --json, else its figures as text). */
function printSummary(output: SummaryOutput): void {
  const validation = output.validation
    ? { valid: output.validation.valid.length, dropped: output.validation.dropped, case_ms: output.validation.caseMs }
    : undefined;
  const body = {
    suite: output.suite,
    out: output.out,
    cases_selected: output.selected,
    commits_skipped: output.skippedCommits,
    ran: output.ran,
    resumed: output.resumed,
    ...(validation ? { validation } : {}),
    summary: output.summary,
  };
  if (output.json) {
    process.stdout.write(JSON.stringify(body) + "\n");
    return;
  }
  const s = output.summary;
  const rate = (r: number | null): string => (r === null ? "-" : `${(r * 100).toFixed(1)}%`);
  process.stdout.write(
    `${output.suite}: ${s.passed}/${s.cases} passed (${rate(s.pass_rate)}); results in ${output.out}\n`,
  );
}
