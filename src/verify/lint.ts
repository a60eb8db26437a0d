import path from "node:path";
import { existsSync } from "node:fs";
import type { Sandbox } from "../sandbox/sandbox.js";
import { runProcess, type ProcessResult } from "./process.js";
import { formatDiagnostic, type CheckResult } from "./types.js";

/** Options for {@link runLint}. */
export interface LintOptions {
  /** The scratch copy of the workspace. */
  root: string;
  /** Workspace-relative paths of the changed files. */
  files: readonly string[];
  /** A configured lint command (`{files}` is replaced by the files, else they are appended). */
  command?: string;
  timeoutMs: number;
  /** Where the linter runs (it loads the project's config and plugins, which a model may have changed). */
  sandbox?: Sandbox;
}

interface EslintFileResult {
  filePath: string;
  messages: Array<{ ruleId: string | null; severity: number; message: string; line?: number; column?: number }>;
}

/** A check's outcome before its duration is known. */
type LintOutcome = Omit<CheckResult, "name" | "durationMs">;

/** How the linter ran: its output, and what messages call it. */
type LintRun = { result: ProcessResult; label: string } | { missing: LintOutcome };

/**
 * Lints the changed files: with the configured command, or with the workspace's own ESLint
 * (`--format json`, errors fail the check, warnings become notes).
 */
export async function runLint(options: LintOptions): Promise<CheckResult> {
  const started = performance.now();
  const lintable = options.files.filter((file) => /\.[cm]?[jt]sx?$/.test(file));
  const outcome: LintOutcome =
    lintable.length === 0 && !options.command
      ? outcomeOf("skipped", [], "no JavaScript or TypeScript file changed")
      : judgeRun(await startLinter(options, lintable), options.timeoutMs, options.root);
  return { name: "lint", ...outcome, durationMs: performance.now() - started };
}

/** Runs the configured lint command, else the workspace's ESLint (missing: a failed outcome saying so). */
async function startLinter(options: LintOptions, lintable: readonly string[]): Promise<LintRun> {
  if (options.command) {
    const quoted = options.files.map(shellQuote).join(" ");
    const command = options.command.includes("{files}")
      ? options.command.replaceAll("{files}", quoted)
      : `${options.command} ${quoted}`;
    const result = await runProcess(command, [], {
      cwd: options.root,
      timeoutMs: options.timeoutMs,
      shell: true,
      sandbox: options.sandbox,
    });
    return { result, label: `\`${options.command}\`` };
  }
  const eslint = path.join(options.root, "node_modules", "eslint", "bin", "eslint.js");
  if (!existsSync(eslint)) {
    return {
      missing: outcomeOf(
        "failed",
        [
          "ESLint is not installed in the workspace (node_modules/eslint). Install it, set verify.lint_command, or set verify.checks.lint to false.",
        ],
        "ESLint not found",
      ),
    };
  }
  const result = await runProcess(process.execPath, [eslint, "--format", "json", ...lintable], {
    cwd: options.root,
    timeoutMs: options.timeoutMs,
    sandbox: options.sandbox,
  });
  return { result, label: "eslint" };
}

/** The check's outcome from the linter's run: ESLint's JSON report when it printed one, else the exit status. */
function judgeRun(run: LintRun, timeoutMs: number, root: string): LintOutcome {
  if ("missing" in run) return run.missing;
  const { result, label } = run;
  if (result.timedOut)
    return outcomeOf(
      "failed",
      [`the linter did not finish within ${Math.round(timeoutMs / 1000)} s (verify.timeouts.lint_ms).`],
      `${label} timed out`,
    );
  const eslintReport = parseEslintJson(result.stdout, root);
  if (eslintReport) {
    const status = eslintReport.errors.length === 0 ? "passed" : "failed";
    return outcomeOf(
      status,
      eslintReport.errors,
      `${label}: ${eslintReport.errors.length} error(s), ${eslintReport.warnings.length} warning(s)`,
      eslintReport.warnings.slice(0, 5),
    );
  }
  if (result.code === 0) return outcomeOf("passed", [], `${label} passed`);
  const tail = result.output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .slice(-10);
  return outcomeOf(
    "failed",
    tail.length > 0 ? tail : [`${label} exited with ${result.code ?? result.signal ?? "an error"}`],
    `${label} failed`,
  );
}

function outcomeOf(
  status: CheckResult["status"],
  diagnostics: string[],
  summary: string,
  notes: string[] = [],
): LintOutcome {
  return { status, diagnostics, summary, notes };
}

/** Errors and warnings from ESLint's JSON formatter; undefined when the output is not that. */
export function parseEslintJson(stdout: string, root: string): { errors: string[]; warnings: string[] } | undefined {
  const start = stdout.indexOf("[");
  if (start < 0) return undefined;
  let results: EslintFileResult[];
  try {
    results = JSON.parse(stdout.slice(start)) as EslintFileResult[];
  } catch {
    return undefined;
  }
  if (!Array.isArray(results) || results.some((r) => typeof r?.filePath !== "string" || !Array.isArray(r.messages)))
    return undefined;
  const errors: string[] = [];
  const warnings: string[] = [];
  for (const result of results) {
    const file = path.relative(root, result.filePath).split(path.sep).join("/");
    for (const m of result.messages) {
      const line = formatDiagnostic({
        file,
        line: m.line ?? 0,
        column: m.column ?? 0,
        code: m.ruleId ?? "eslint",
        message: m.message,
      });
      (m.severity >= 2 ? errors : warnings).push(line);
    }
  }
  return { errors, warnings };
}

function shellQuote(value: string): string {
  return process.platform === "win32" ? `"${value}"` : `'${value.replace(/'/g, "'\\''")}'`;
}
