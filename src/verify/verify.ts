import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import type { VerifySettings } from "../config/verify-settings.js";
import { round } from "../format/numbers.js";
import type { BuilderTask, VerificationCheck } from "../task/schema.js";
import { getLogger } from "../telemetry/logger.js";
import { type ProposedFile } from "./proposed-files.js";
import { isTestFile } from "../workspace/test-placement.js";
import { runLint } from "./lint.js";
import { writeTsLoader } from "./node-test-loader.js";
import { activeRules } from "./active-rules.js";
import type { RuleFile } from "./rules.js";
import { Sandbox } from "../sandbox/sandbox.js";
import { ScratchCopy } from "./scratch.js";
import { acceptanceAskingForTests, detectTestRunner, missingRunnerMessage, runTestFile } from "./tests.js";
import type { TypeScriptProject } from "./ts-project.js";
import { TypecheckRunner } from "./typecheck.js";
import type { CheckResult } from "./types.js";

/** How many diagnostics of each check the suggestion's `verification` keeps. */
export const MAX_REPORTED_DIAGNOSTICS = 10;

/** Whether verification runs for a workspace, and why not. */
export type VerificationPlan = { run: true; tsconfig: string | undefined } | { run: false; reason: string };

/**
 * Decides whether to verify: off when switched off (`--no-verify`, config); automatic otherwise, which
 * means on for TypeScript workspaces (a tsconfig.json) and off, with a note, for the rest.
 */
export function planVerification(workspace: string, settings: VerifySettings): VerificationPlan {
  if (settings.enabled === false)
    return { run: false, reason: `verification was switched off (${settings.disabledBy ?? "config"})` };
  const tsconfig = path.resolve(workspace, settings.tsconfig);
  const hasTsconfig = existsSync(tsconfig);
  if (!hasTsconfig && settings.enabled !== true) {
    return {
      run: false,
      reason: `no ${settings.tsconfig} in ${workspace} (not a TypeScript workspace; set verify.enabled to true with a verify.test_command to verify it anyway)`,
    };
  }
  return { run: true, tsconfig: hasTsconfig ? settings.tsconfig : undefined };
}

/** What the task and the project say, for the checks that depend on them. */
export interface VerifyContext {
  task: BuilderTask;
  /** The knowledge base text: rules set to "auto" follow it (no-console-log when it forbids console.log). */
  knowledge: string;
}

/**
 * The outcome of one verification round. UNVERIFIED: nothing failed, but neither the typecheck nor
 * the tests had anything to check (no changed TypeScript file covered by the tsconfig, no tests), so
 * passing rules alone do not make the code verified.
 */
export interface VerificationReport {
  verdict: "VERIFIED" | "FAILED" | "UNVERIFIED";
  checks: CheckResult[];
  notes: string[];
  durationMs: number;
}

/** The files of one round as the checks read them: absolute path to content now and before (null: absent). */
interface StagedFiles {
  current: Map<string, string | null>;
  original: Map<string, string | null>;
  ruleFiles: RuleFile[];
}

/**
 * Verifies file edits in a scratch copy of the workspace. One verifier serves every repair round of
 * a run: the copy and the TypeScript language service stay warm in between.
 */
export class Verifier {
  private readonly typecheck: TypecheckRunner | undefined;
  private tsLoader: string | undefined;

  private constructor(
    private readonly scratch: ScratchCopy,
    private readonly project: TypeScriptProject | undefined,
    private readonly projectProblem: string | undefined,
    private readonly settings: VerifySettings,
    private readonly workDir: string,
    private readonly sandbox: Sandbox,
  ) {
    this.typecheck = project ? new TypecheckRunner(project) : undefined;
  }

  /** Makes the scratch copy and opens the TypeScript project (nothing is checked yet). */
  static async open(workspace: string, settings: VerifySettings, logger: Logger = getLogger()): Promise<Verifier> {
    const scratch = await ScratchCopy.create(workspace, logger);
    try {
      const workDir = await mkdtemp(path.join(tmpdir(), "builder-verify-work-"));
      // Model-written code (tests, the changed sources, the linter's plugins) runs in here; required mode refuses early.
      let sandbox: Sandbox;
      try {
        sandbox = Sandbox.open(settings.sandbox, {
          writable: [scratch.folder, workDir],
          tempDir: path.join(workDir, "tmp"),
          secretRoots: [scratch.workspace, scratch.root],
        });
      } catch (error) {
        await rm(workDir, { recursive: true, force: true });
        throw error;
      }
      let project: TypeScriptProject | undefined;
      let problem: string | undefined;
      if (existsSync(path.resolve(scratch.root, settings.tsconfig))) {
        // The TypeScript compiler (a second of imports) loads only when a run verifies: --no-verify runs start without it.
        const { TsConfigProblem, TypeScriptProject } = await import("./ts-project.js");
        try {
          project = TypeScriptProject.open(scratch.root, settings.tsconfig);
        } catch (error) {
          if (!(error instanceof TsConfigProblem)) throw error;
          problem = error.message;
        }
      }
      logger.debug({ scratch: scratch.root, kind: scratch.kind }, "verification scratch copy ready");
      return new Verifier(scratch, project, problem, settings, workDir, sandbox);
    } catch (error) {
      await scratch.dispose();
      throw error;
    }
  }

  /** The sandbox mechanism the tests and linter run under ("none" when unsandboxed). */
  get sandboxName(): string {
    return this.sandbox.name;
  }

  /** Writes the edits into the scratch copy (undoing the previous round's) and runs every enabled check. */
  async verify(edits: readonly ProposedFile[], context: VerifyContext): Promise<VerificationReport> {
    const started = performance.now();
    const staged = await this.stage(edits);
    const checks = await this.runChecks(edits, staged, context);
    const substantive = checks.some((c) => (c.name === "typecheck" || c.name === "tests") && c.status === "passed");
    const failed = checks.some((c) => c.status === "failed");
    const notes = checks.flatMap((c) => c.notes);
    const ranCode = checks.some((c) => (c.name === "tests" || c.name === "lint") && c.status !== "skipped");
    if (ranCode && this.sandbox.note) notes.push(this.sandbox.note);
    // Only an UNVERIFIED round needs the reason; on a FAILED one the note would contradict the failed checks.
    if (!failed && !substantive)
      notes.push(
        "Neither the typecheck nor the tests had anything to check in this change, so it is not called verified.",
      );
    return {
      verdict: failed ? "FAILED" : substantive ? "VERIFIED" : "UNVERIFIED",
      checks,
      notes,
      durationMs: performance.now() - started,
    };
  }

  /** Writes the edits into the copy and the TypeScript project; returns each file's content now and before. */
  private async stage(edits: readonly ProposedFile[]): Promise<StagedFiles> {
    await this.scratch.applyEdits(edits);
    const staged: StagedFiles = { current: new Map(), original: new Map(), ruleFiles: [] };
    for (const edit of edits) {
      const absolutePath = this.scratch.absolute(edit.path);
      const before = await this.scratch.original(edit.path);
      staged.current.set(absolutePath, edit.content);
      staged.original.set(absolutePath, before);
      // A deleted file has nothing to check by rules; the typecheck still sees its importers break.
      if (edit.content !== null)
        staged.ruleFiles.push({
          path: edit.path,
          absolutePath,
          content: edit.content,
          original: before,
          isTest: isTestFile(edit.path),
        });
    }
    this.project?.setFiles(staged.current);
    return staged;
  }

  /** Every check in its fixed order: typecheck, rules, tests, lint (each switched off by config, or run). */
  private async runChecks(
    edits: readonly ProposedFile[],
    staged: StagedFiles,
    context: VerifyContext,
  ): Promise<CheckResult[]> {
    const { checks: enabled } = this.settings;
    const { runRules } = await import("./rules.js");
    const rules = (): CheckResult =>
      runRules({
        files: staged.ruleFiles,
        enabled: activeRules(this.settings, context.knowledge),
        locMax: context.task.constraints.loc_max,
        project: this.project,
      });
    const lint = (): Promise<CheckResult> =>
      runLint({
        root: this.scratch.root,
        files: edits.filter((e) => e.content !== null).map((e) => e.path),
        command: this.settings.lintCommand,
        timeoutMs: this.settings.lintTimeoutMs,
        sandbox: this.sandbox,
      });
    return [
      enabled.typecheck
        ? this.runTypecheck(staged.current, staged.original)
        : skipped("typecheck", "off (verify.checks.typecheck)"),
      enabled.rules ? rules() : skipped("rules", "off (verify.checks.rules)"),
      enabled.tests ? await this.runTests(edits, context.task) : skipped("tests", "off (verify.checks.tests)"),
      enabled.lint ? await lint() : skipped("lint", "not configured (set verify.lint_command or verify.checks.lint)"),
    ];
  }

  /** Removes the scratch copy and the work folder. */
  async dispose(): Promise<void> {
    this.project?.dispose();
    await this.scratch.dispose();
    await rm(this.workDir, { recursive: true, force: true });
  }

  private runTypecheck(current: Map<string, string | null>, original: Map<string, string | null>): CheckResult {
    if (this.projectProblem)
      return failed("typecheck", [this.projectProblem], "the tsconfig cannot be used: fix it or set verify.tsconfig");
    if (!this.typecheck) return skipped("typecheck", `no ${this.settings.tsconfig} in the workspace`);
    return this.typecheck.check({ current, original });
  }

  private async runTests(edits: readonly ProposedFile[], task: BuilderTask): Promise<CheckResult> {
    const tests = edits.filter(
      (edit): edit is ProposedFile & { content: string } => edit.content !== null && isTestFile(edit.path),
    );
    const asking = acceptanceAskingForTests(task.acceptance);
    if (tests.length === 0) {
      return asking
        ? failed(
            "tests",
            [
              `The task's acceptance asks for tests ("${asking}") but the suggestion has none: write them in the "tests" field.`,
            ],
            "no tests in the suggestion",
          )
        : skipped("tests", "the suggestion has no tests and the task's acceptance asks for none");
    }
    const results: CheckResult[] = [];
    for (const test of tests) {
      const runner = detectTestRunner(this.scratch.root, this.settings.testCommand, test.content);
      if (!runner) {
        return failed("tests", [missingRunnerMessage(this.scratch.root)], "no test runner");
      }
      if (runner.kind === "node-test") this.tsLoader ??= await writeTsLoader(path.join(this.workDir, "loader"));
      results.push(
        await runTestFile({
          root: this.scratch.root,
          testFile: test.path,
          runner,
          timeoutMs: this.settings.testTimeoutMs,
          workDir: this.workDir,
          tsLoader: this.tsLoader,
          sandbox: this.sandbox,
        }),
      );
    }
    if (results.length === 1 && results[0]) return results[0];
    return {
      name: "tests",
      status: results.some((r) => r.status === "failed") ? "failed" : "passed",
      durationMs: results.reduce((sum, r) => sum + r.durationMs, 0),
      diagnostics: results.flatMap((r) => r.diagnostics),
      summary: results.map((r) => r.summary).join("; "),
      notes: results.flatMap((r) => r.notes),
    };
  }
}

/** The checks as the suggestion's `verification.checks` reports them. */
export function toVerificationChecks(checks: readonly CheckResult[]): VerificationCheck[] {
  return checks.map((check) => ({
    name: check.name,
    status: check.status,
    duration_ms: round(check.durationMs),
    count: check.diagnostics.length,
    diagnostics: check.diagnostics.slice(0, MAX_REPORTED_DIAGNOSTICS),
    summary: check.summary,
  }));
}

function skipped(name: CheckResult["name"], summary: string): CheckResult {
  return { name, status: "skipped", durationMs: 0, diagnostics: [], summary, notes: [] };
}

function failed(name: CheckResult["name"], diagnostics: string[], summary: string): CheckResult {
  return { name, status: "failed", durationMs: 0, diagnostics, summary, notes: [] };
}
