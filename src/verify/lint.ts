import path from "node:path";
import { existsSync } from "node:fs";
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
}

interface EslintFileResult {
  filePath: string;
  messages: Array<{ ruleId: string | null; severity: number; message: string; line?: number; column?: number }>;
}

/**
 * Lints the changed files: with the configured command, or with the workspace's own ESLint
 * (`--format json`, errors fail the check, warnings become notes).
 */
export async function runLint(options: LintOptions): Promise<CheckResult> {
  const started = performance.now();
  const lintable = options.files.filter((file) => /\.[cm]?[jt]sx?$/.test(file));
  const done = (
    status: CheckResult["status"],
    diagnostics: string[],
    summary: string,
    notes: string[] = [],
  ): CheckResult => ({
    name: "lint",
    status,
    durationMs: performance.now() - started,
    diagnostics,
    summary,
    notes,
  });
  if (lintable.length === 0 && !options.command) return done("skipped", [], "no JavaScript or TypeScript file changed");
  let result: ProcessResult;
  let label: string;
  if (options.command) {
    const quoted = options.files.map(shellQuote).join(" ");
    const command = options.command.includes("{files}")
      ? options.command.replaceAll("{files}", quoted)
      : `${options.command} ${quoted}`;
    label = `\`${options.command}\``;
    result = await runProcess(command, [], { cwd: options.root, timeoutMs: options.timeoutMs, shell: true });
  } else {
    const eslint = path.join(options.root, "node_modules", "eslint", "bin", "eslint.js");
    if (!existsSync(eslint)) {
      return done(
        "failed",
        [
          "ESLint is not installed in the workspace (node_modules/eslint). Install it, set verify.lint_command, or set verify.checks.lint to false.",
        ],
        "ESLint not found",
      );
    }
    label = "eslint";
    result = await runProcess(process.execPath, [eslint, "--format", "json", ...lintable], {
      cwd: options.root,
      timeoutMs: options.timeoutMs,
    });
  }
  if (result.timedOut)
    return done(
      "failed",
      [`the linter did not finish within ${Math.round(options.timeoutMs / 1000)} s (verify.timeouts.lint_ms).`],
      `${label} timed out`,
    );
  const eslintReport = parseEslintJson(result.stdout, options.root);
  if (eslintReport) {
    const status = eslintReport.errors.length === 0 ? "passed" : "failed";
    return done(
      status,
      eslintReport.errors,
      `${label}: ${eslintReport.errors.length} error(s), ${eslintReport.warnings.length} warning(s)`,
      eslintReport.warnings.slice(0, 5),
    );
  }
  if (result.code === 0) return done("passed", [], `${label} passed`);
  const tail = result.output
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "")
    .slice(-10);
  return done(
    "failed",
    tail.length > 0 ? tail : [`${label} exited with ${result.code ?? result.signal ?? "an error"}`],
    `${label} failed`,
  );
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
