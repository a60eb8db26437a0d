import { existsSync, readFileSync } from "node:fs";
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { explainSandboxFailure } from "../sandbox/explain.js";
import type { Sandbox } from "../sandbox/sandbox.js";
import { runProcess, type ProcessResult } from "./process.js";
import type { CheckResult } from "./types.js";

/** How a workspace runs its tests. */
export type TestRunner =
  | { kind: "vitest"; bin: string }
  | { kind: "jest"; bin: string }
  | { kind: "node-test" }
  | { kind: "command"; command: string };

/** Words in acceptance criteria that ask for tests. */
const ASKS_FOR_TESTS = /\b(tests?|tested|specs?|vitest|jest|node:test|unit[- ]tests?|coverage)\b/i;

/** The acceptance criterion that asks for tests, if any. */
export function acceptanceAskingForTests(acceptance: readonly string[]): string | undefined {
  return acceptance.find((criterion) => ASKS_FOR_TESTS.test(criterion));
}

/**
 * Picks the runner: a configured command first; then what the test file imports (`node:test`,
 * `vitest`, `@jest/globals`); then the workspace's package.json (dependencies and the test script).
 */
export function detectTestRunner(
  root: string,
  testCommand: string | undefined,
  testSource: string,
): TestRunner | undefined {
  if (testCommand) return { kind: "command", command: testCommand };
  const vitest = findPackageFile(root, "vitest/vitest.mjs");
  const jest = findPackageFile(root, "jest/bin/jest.js");
  if (/from\s+["']node:test["']|require\(\s*["']node:test["']\s*\)/.test(testSource)) return { kind: "node-test" };
  if (/from\s+["']vitest["']/.test(testSource) && vitest) return { kind: "vitest", bin: vitest };
  if (/from\s+["']@jest\/globals["']/.test(testSource) && jest) return { kind: "jest", bin: jest };
  const pkg = readPackageJson(root);
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  const script = pkg.scripts?.test ?? "";
  if ((deps.vitest !== undefined || /\bvitest\b/.test(script)) && vitest) return { kind: "vitest", bin: vitest };
  if ((deps.jest !== undefined || /\bjest\b/.test(script)) && jest) return { kind: "jest", bin: jest };
  if (/node\s+(.*\s)?--test\b/.test(script)) return { kind: "node-test" };
  return undefined;
}

/**
 * Why {@link detectTestRunner} found nothing, said so that it can be fixed: a runner the workspace's
 * package.json declares but that is not installed needs `npm install`, not a config change.
 */
export function missingRunnerMessage(root: string): string {
  const pkg = readPackageJson(root);
  const deps = { ...pkg.dependencies, ...pkg.devDependencies };
  const script = pkg.scripts?.test ?? "";
  const declared = (["vitest", "jest"] as const).filter(
    (name) => deps[name] !== undefined || new RegExp(`\\b${name}\\b`).test(script),
  );
  if (declared.length > 0) {
    return `No test runner found: package.json declares ${declared.join(" and ")}, but ${declared.length === 1 ? "it is" : "they are"} not installed (no node_modules/${declared[0]}). Run npm install in the workspace, or set verify.test_command.`;
  }
  return "No test runner found: the workspace's package.json names no vitest, jest or `node --test`. Set verify.test_command, or set verify.checks.tests to false.";
}

/** Options for {@link runTestFile}. */
export interface RunTestsOptions {
  /** The scratch copy of the workspace. */
  root: string;
  /** Workspace-relative POSIX path of the test file. */
  testFile: string;
  runner: TestRunner;
  timeoutMs: number;
  /** Where reports and the TypeScript loader may be written (outside the copy's tree). */
  workDir: string;
  /** `node --import` path of the TypeScript loader, for node:test. */
  tsLoader?: string;
  /** Where the runner runs (model-written code): unset runs it directly. */
  sandbox?: Sandbox;
}

/** Runs one test file with the workspace's runner and collects the failures. */
export async function runTestFile(options: RunTestsOptions): Promise<CheckResult> {
  const started = performance.now();
  const { root, testFile, runner } = options;
  const report = path.join(options.workDir, `test-report-${Date.now()}.json`);
  const result = await runRunner(options, report);
  const label = runner.kind === "command" ? `\`${runner.command}\`` : runner.kind;
  const done = (status: "passed" | "failed", diagnostics: string[], summary: string): CheckResult => ({
    name: "tests",
    status,
    durationMs: performance.now() - started,
    diagnostics: status === "failed" ? withSandboxHints(diagnostics, result.output, options.sandbox) : diagnostics,
    summary,
    notes: [],
  });
  if (result.timedOut) {
    return done(
      "failed",
      [
        `${testFile}: the tests did not finish within ${Math.round(options.timeoutMs / 1000)} s (verify.timeouts.tests_ms); the run was stopped.`,
      ],
      `${label} timed out`,
    );
  }
  let failures: string[] = [];
  let counts: TestCounts | undefined;
  if (runner.kind === "vitest" || runner.kind === "jest") {
    const parsed = await readJsonReport(report, root);
    if (parsed) ({ failures, counts } = parsed);
  } else if (runner.kind === "node-test") {
    ({ failures, counts } = parseTap(result.output, testFile));
  }
  await rm(report, { force: true });
  if (result.code === 0 && failures.length === 0) {
    if (counts && counts.total === 0)
      return done("failed", [`${testFile}: ${label} found no tests in the file.`], `${label}: no tests ran`);
    // A file whose tests are all skipped (or todo) exits 0 but checks nothing: that is not a pass.
    if (counts && counts.passed === 0) {
      return done(
        "failed",
        [`${testFile}: no test ran (${counts.skipped} skipped/todo): remove .skip/.todo so the tests run.`],
        `${label}: no test ran (${counts.skipped} skipped/todo) in ${testFile}`,
      );
    }
    const skippedNote = counts && counts.skipped > 0 ? `, ${counts.skipped} skipped/todo` : "";
    return done(
      "passed",
      [],
      `${label}: ${counts ? `${counts.passed} test(s) passed${skippedNote}` : "passed"} in ${testFile}`,
    );
  }
  if (failures.length === 0)
    failures = [
      `${testFile}: ${label} exited with ${result.code ?? result.signal ?? "an error"}: ${outputTail(result.output)}`,
    ];
  const what =
    counts && counts.total > 0
      ? `${counts.failed} of ${counts.total} test(s) failed`
      : "the test file failed before any test ran";
  return done("failed", failures, `${label}: ${what} in ${testFile}`);
}

/** A failure caused by the sandbox says so, and names the setting that would allow what the tests tried. */
function withSandboxHints(diagnostics: string[], output: string, sandbox: Sandbox | undefined): string[] {
  return sandbox?.active ? [...diagnostics, ...explainSandboxFailure(output, sandbox.network)] : diagnostics;
}

/** Starts the workspace's runner on the one test file, writing a JSON report to `report` where the runner can. */
async function runRunner(options: RunTestsOptions, report: string): Promise<ProcessResult> {
  const { root, testFile, runner } = options;
  switch (runner.kind) {
    case "vitest":
      return runProcess(
        process.execPath,
        [runner.bin, "run", testFile, "--root", root, "--reporter=json", `--outputFile=${report}`],
        { cwd: root, timeoutMs: options.timeoutMs, sandbox: options.sandbox },
      );
    case "jest":
      return runProcess(
        process.execPath,
        [runner.bin, "--ci", "--runTestsByPath", testFile, "--json", `--outputFile=${report}`],
        { cwd: root, timeoutMs: options.timeoutMs, sandbox: options.sandbox },
      );
    case "node-test":
      return runProcess(
        process.execPath,
        [...(options.tsLoader ? ["--import", options.tsLoader] : []), "--test", "--test-reporter=tap", testFile],
        { cwd: root, timeoutMs: options.timeoutMs, sandbox: options.sandbox },
      );
    case "command": {
      const command = runner.command.includes("{file}")
        ? runner.command.replaceAll("{file}", shellQuote(testFile))
        : `${runner.command} ${shellQuote(testFile)}`;
      return runProcess(command, [], {
        cwd: root,
        timeoutMs: options.timeoutMs,
        shell: true,
        sandbox: options.sandbox,
      });
    }
  }
}

/** How many tests a runner reported: `total` includes skipped and todo tests; only `passed` ones checked anything. */
export interface TestCounts {
  total: number;
  passed: number;
  failed: number;
  /** Skipped, pending and todo tests. */
  skipped: number;
}

interface JsonReport {
  numTotalTests?: number;
  numPassedTests?: number;
  numFailedTests?: number;
  numPendingTests?: number;
  numTodoTests?: number;
  testResults?: Array<{
    name?: string;
    status?: string;
    message?: string;
    assertionResults?: Array<{ fullName?: string; status?: string; failureMessages?: string[] }>;
  }>;
}

/** Reads the JSON report vitest and jest write (`--reporter=json` / `--json`): the same shape. */
async function readJsonReport(
  file: string,
  root: string,
): Promise<{ failures: string[]; counts: TestCounts } | undefined> {
  let report: JsonReport;
  try {
    report = JSON.parse(await readFile(file, "utf8")) as JsonReport;
  } catch {
    return undefined;
  }
  const failures: string[] = [];
  for (const suite of report.testResults ?? []) {
    const name = suite.name ? path.relative(root, suite.name).split(path.sep).join("/") : "(suite)";
    const failed = (suite.assertionResults ?? []).filter((a) => a.status === "failed");
    for (const assertion of failed)
      failures.push(
        `${name}: ${assertion.fullName ?? "(test)"}: ${firstLines(assertion.failureMessages?.[0] ?? "failed")}`,
      );
    if (failed.length === 0 && suite.status === "failed")
      failures.push(`${name}: ${firstLines(suite.message || "the test file failed to run")}`);
  }
  const counts: TestCounts = {
    total: report.numTotalTests ?? 0,
    passed: report.numPassedTests ?? 0,
    failed: report.numFailedTests ?? failures.length,
    skipped: (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0),
  };
  return { failures, counts };
}

/** Failures from node:test's TAP output: each `not ok` line and its error. */
export function parseTap(output: string, testFile: string): { failures: string[]; counts: TestCounts | undefined } {
  const lines = output.split("\n");
  const failures: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const match = /^\s*not ok \d+ - (.*)$/.exec(lines[i] ?? "");
    if (!match) continue;
    let error = "";
    for (let j = i + 1; j < Math.min(lines.length, i + 40); j++) {
      const line = lines[j] ?? "";
      if (/^\s*\.\.\.\s*$/.test(line)) break;
      if (/^\s*error:\s*[|>]/.test(line)) {
        // A YAML block: the lines indented deeper than `error:` itself.
        const indent = line.search(/\S/);
        const block: string[] = [];
        for (let k = j + 1; k < lines.length && block.length < 12; k++) {
          const next = lines[k] ?? "";
          if (next.trim() !== "" && next.search(/\S/) <= indent) break;
          block.push(next.trim());
        }
        error = block.filter((l) => l !== "").join(" ");
        break;
      }
      const single = /^\s*error:\s*['"]?(.*?)['"]?\s*$/.exec(line);
      if (single?.[1]) {
        error = single[1];
        break;
      }
    }
    // Parent suites repeat their children's failures as "subtestsFailed": keep the leaves.
    if (/failureType: 'subtestsFailed'/.test(lines.slice(i, i + 6).join("\n"))) continue;
    failures.push(`${testFile}: ${match[1]}: ${firstLines(error || "failed")}`);
  }
  // node:test's closing summary: `# tests` counts skipped and todo tests too, `# pass` only those that ran and passed.
  const count = (name: string): number | undefined => {
    const match = new RegExp(`^# ${name} (\\d+)`, "m").exec(output);
    return match ? Number(match[1]) : undefined;
  };
  const total = count("tests");
  if (total === undefined) return { failures, counts: undefined };
  const failed = count("fail") ?? failures.length;
  const skipped = (count("skipped") ?? 0) + (count("todo") ?? 0);
  return {
    failures,
    counts: { total, passed: count("pass") ?? Math.max(0, total - failed - skipped), failed, skipped },
  };
}

function findPackageFile(root: string, relative: string): string | undefined {
  let dir = root;
  for (;;) {
    const candidate = path.join(dir, "node_modules", relative);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

interface PackageJson {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  scripts?: Record<string, string>;
}

function readPackageJson(root: string): PackageJson {
  try {
    return JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as PackageJson;
  } catch {
    return {};
  }
}

function firstLines(text: string): string {
  const cleaned = text
    // eslint-disable-next-line no-control-regex -- the ESC byte of terminal colour codes is exactly what is removed
    .replace(/\u001b\[[0-9;]*m/g, "")
    .split("\n")
    .filter((line) => !/^\s+at /.test(line))
    .join(" ")
    .replace(/\s+/g, " ")
    .trim();
  return cleaned.length > 300 ? `${cleaned.slice(0, 297)}...` : cleaned;
}

function outputTail(output: string): string {
  const lines = output
    .split("\n")
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "");
  return firstLines(lines.slice(-8).join("\n"));
}

function shellQuote(value: string): string {
  return process.platform === "win32" ? `"${value}"` : `'${value.replace(/'/g, "'\\''")}'`;
}
