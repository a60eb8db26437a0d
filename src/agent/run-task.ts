import type { Logger } from "pino";
import { createBackend } from "../backends/create-backend.js";
import type { Backend, BackendInfo, ChatMessage } from "../backends/types.js";
import type { BuilderConfig } from "../config/load.js";
import type { ContextExplanation } from "../context/assemble.js";
import type { KnowledgeSection } from "../context/priming.js";
import { instructionsFor } from "../context/prompt.js";
import { gatherWorkspaceContext, type WorkspaceContext } from "../context/workspace-context.js";
import { toBuilderError } from "../errors/errors.js";
import { resolveAnswerStyle } from "../answer/answer-plan.js";
import { allowedFilesFor } from "../answer/resolve-changes.js";
import { newRunId } from "../format/run-id.js";
import { loadFewShot } from "../learning/few-shot.js";
import { recordTrainingExample } from "../learning/record-training.js";
import type { BuilderTask, CodeSuggestion } from "../task/schema.js";
import { getLogger } from "../telemetry/logger.js";
import { recordRunMetrics, type RunMetrics } from "../telemetry/metrics.js";
import { buildRunMetrics, RunUsage, type RunMetricsInput } from "../telemetry/run-metrics.js";
import { Verifier, planVerification, type VerificationPlan } from "../verify/verify.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { editProblemsReport, type AnswerStepInput } from "./answer-step.js";
import { throwIfCancelled } from "./cancel.js";
import { contextEvent, type RunEventListener } from "./events.js";
import { verifyWithRepairs, type RepairOutcome } from "./repair.js";
import { RunFailure } from "./run-failure.js";
import { fitRepairPrompt, generateRound, loadBackend, reportChecks, safeEmitter, type RoundRun } from "./run-rounds.js";
import { changesNothing, refusedBySandbox, settleSuggestionPaths } from "./suggestion-paths.js";
import {
  assemblePrompt,
  fewShotSections,
  loadProjectPriming,
  refuseHugeTaskBeforeLoading,
  resolveTaskFiles,
} from "./task-context.js";
import { unverifiedReport, verificationSection, verifiedReport, verifyAnswer } from "./verification-step.js";

/** Options for {@link runTask}. */
export interface RunTaskOptions {
  config: BuilderConfig;
  /** A backend to reuse across tasks (it stays loaded); by default one is created and disposed. */
  backend?: Backend;
  logger?: Logger;
  /**
   * Cancels the run: generation stops, the backend is freed, and nothing is written (no metrics line,
   * no training example); the run rejects with a `CANCELLED` error.
   */
  signal?: AbortSignal;
  /** Receives the run's events as they happen (see {@link RunEvent}); the `result` event is the caller's to send. */
  onEvent?: RunEventListener;
  onTextChunk?: (text: string) => void;
  /** The streamed answer text so far is discarded: the answer starts again (a backend's `onRestart`). */
  onRestart?: (reason: string) => void;
  /** Receives what went into the prompt and what was dropped (`--explain-context`), also when it does not fit. */
  onContext?: (explanation: ContextExplanation) => void;
  /**
   * The workspace whose sandbox admits the knowledge files, when it is not `config.workspace`: an eval
   * case runs in a scratch copy, but the project's knowledge stays where the project keeps it.
   */
  knowledgeWorkspace?: string;
}

/** A successful run: the suggestion, its metrics, and where it ran. */
export interface RunTaskResult {
  runId: string;
  suggestion: CodeSuggestion;
  metrics: RunMetrics;
  info: BackendInfo;
  /** What went into the prompt. */
  context: ContextExplanation;
}

export { RunFailure };

/**
 * The agent loop for one task: build the context (workspace, knowledge, prompt), generate the
 * answer and its repairs (while its edits do not apply or its checks fail, bounded), give it its
 * verdict, and return the suggestion with its metrics. A FAILED verdict is a result, not an
 * exception: the caller decides. A run that fails otherwise rejects with a {@link RunFailure}
 * carrying its metrics; a cancelled one with a `CANCELLED` error, having written nothing.
 */
export async function runTask(task: BuilderTask, options: RunTaskOptions): Promise<RunTaskResult> {
  const run = await TaskRun.open(task, options);
  return run.run();
}

/** What the generation rounds and the result read from the context the run built. */
interface RunContext {
  /** The task with its files checked against the workspace and joined by their test files. */
  task: BuilderTask;
  /** The task's files as the prompt shows them (with their hashes, for the suggestion's base hashes). */
  workspace: WorkspaceContext;
  /** The knowledge files' text, which rules may switch on by (`no-console-log`). */
  knowledge: string;
  plan: VerificationPlan;
  messages: ChatMessage[];
  explanation: ContextExplanation;
  /** What every generation gets: the backend and its window, the answer's style and allowed files, the caller's stream. */
  step: AnswerStepInput;
}

/**
 * One task's run, read top to bottom in {@link TaskRun.run}. It holds the backend (unless the caller
 * lent one) and the scratch copy for verification, and releases both in one place, however the run ends.
 */
class TaskRun {
  private readonly runId = newRunId();
  private readonly usage = new RunUsage();
  private readonly emit: RunEventListener;
  /** The backend's info once the prompt is assembled (the failure metrics name it from then on). */
  private info: BackendInfo | undefined;
  /** The scratch copy for verification, opened while the model loads and generates. */
  private verifier: Promise<Verifier> | undefined;

  private constructor(
    private readonly task: BuilderTask,
    private readonly options: RunTaskOptions,
    private readonly logger: Logger,
    private readonly started: number,
    private readonly sandbox: WorkspaceSandbox,
    private readonly priming: KnowledgeSection[],
  ) {
    this.emit = safeEmitter(options.onEvent, logger);
  }

  /**
   * Opens the workspace and reads the knowledge files: a bad task (an unknown context pack) or an
   * unreadable knowledge file fails here, before anything runs or is recorded. Knowledge files obey
   * the sandbox too (inside the workspace, deny list applied) unless allow-listed. Holds nothing yet.
   */
  static async open(task: BuilderTask, options: RunTaskOptions): Promise<TaskRun> {
    const { config } = options;
    const logger = options.logger ?? getLogger();
    const started = performance.now();
    const sandbox = await WorkspaceSandbox.fromConfig(config);
    const priming = await loadProjectPriming(config, task.constraints.pack, logger, options.knowledgeWorkspace);
    return new TaskRun(task, options, logger, started, sandbox, priming);
  }

  /** The pipeline: context, generation rounds with repairs and verification, verdict, result. */
  async run(): Promise<RunTaskResult> {
    const { config } = this.options;
    this.emit({
      type: "started",
      run_id: this.runId,
      task_id: this.task.task_id,
      backend: config.backend,
      model: config.model ?? "",
    });
    const backend = this.options.backend ?? createBackend(config);
    try {
      const context = await this.buildContext(backend);
      const outcome = await this.generateRounds(context);
      const suggestion = this.withVerdict(context, outcome);
      return await this.result(context, suggestion, outcome);
    } catch (caught) {
      throw await this.failure(caught);
    } finally {
      await this.release(backend);
    }
  }

  /**
   * Checks every path against the workspace before the model loads (the scan runs while it does),
   * opens the scratch copy for verification, loads the backend and assembles the prompt. The task's
   * files are joined by their test files (by the workspace's convention), so the tests are one more change.
   */
  private async buildContext(backend: Backend): Promise<RunContext> {
    const { config } = this.options;
    const root = this.sandbox.root;
    const { workspaceTask: task, newFileFolders } = await resolveTaskFiles(this.task, this.sandbox);
    const gathering = gatherWorkspaceContext(this.sandbox, task);
    gathering.catch(() => undefined);
    const knowledge = this.priming.map((section) => section.content).join("\n");
    refuseHugeTaskBeforeLoading(this.task, config);
    const plan = planVerification(root, config.verify);
    if (plan.run) {
      this.verifier = Verifier.open(root, config.verify, this.logger);
      // Its failure is the run's when the rounds wait for it; until then it must not go unhandled.
      this.verifier.catch(() => undefined);
    }
    const fewShot = await loadFewShot(task, root, config.fewShot ?? { examples: 0, maxTokens: 0 }, this.logger);
    const loaded = await loadBackend(backend, this.emit, this.options.signal);
    const workspace = await gathering;
    const style = resolveAnswerStyle(loaded.capabilities, config.answer.format, config.answer.edits);
    const { context, info } = await assemblePrompt(loaded, backend, {
      task,
      priming: this.priming,
      workspace,
      counter: backend,
      contextSize: loaded.contextSize,
      numPredict: config.options.num_predict,
      instructions: instructionsFor(style.format),
      newFileFolders,
      examples: fewShotSections(fewShot),
      requirements: plan.run ? [verificationSection(task, root, config.verify, knowledge)] : [],
      onExplain: (explanation) => this.explained(explanation),
    });
    this.info = info;
    const step: AnswerStepInput = {
      backend,
      info,
      generation: config.options,
      boundedAnswer: config.boundedAnswer,
      style,
      // A file shown in regions: an edit may quote only the lines shown.
      allowed: { ...allowedFilesFor(workspace.taskFiles, newFileFolders), shown: context.shownRegions },
      newFileFolders,
      logger: this.logger,
      refusePath: (file) => refusedBySandbox(this.sandbox, file),
      signal: this.options.signal,
      onTextChunk: this.options.onTextChunk,
      onRestart: this.options.onRestart,
    };
    const { messages, explanation } = context;
    return { task, workspace, knowledge, plan, messages, explanation, step };
  }

  /** What the context assembly explains goes to the metrics (also when the prompt does not fit and assembly throws), the events and `onContext`. */
  private explained(explanation: ContextExplanation): void {
    this.usage.assembled(explanation.prompt_tokens);
    this.emit(contextEvent(explanation));
    this.options.onContext?.(explanation);
  }

  /**
   * The first answer and its repairs: an answer whose edits do not apply fails an `edits` check (and
   * goes back to the model with the nearest lines), one that applies is verified when verification
   * runs. A cancel during the rounds ends the run.
   */
  private async generateRounds(context: RunContext): Promise<RepairOutcome> {
    const { config } = this.options;
    const { step } = context;
    const rounds: RoundRun = { options: this.options, step, usage: this.usage, emit: this.emit };
    const first = await generateRound(rounds, 0, context.messages);
    const verifier = await this.verifier;
    let current = 0;
    const outcome = await verifyWithRepairs(first, {
      maxRepairs: config.verify.maxRepairs,
      verify: async (answer, generated) => {
        if (generated && generated.problems.length > 0)
          return reportChecks(rounds, current, editProblemsReport(generated.problems));
        if (!verifier || changesNothing(answer)) return { verdict: "UNVERIFIED", checks: [], notes: [], durationMs: 0 };
        const report = await verifyAnswer(verifier, this.sandbox.root, answer, context.task, context.knowledge);
        return reportChecks(rounds, current, report);
      },
      repair: async (previous) => {
        current = previous.round + 1;
        const failed = previous.report.checks.filter((c) => c.status === "failed").map((c) => c.name);
        this.emit({ type: "repair", round: current, failed_checks: failed });
        const numPredict = config.options.num_predict;
        const messages = await fitRepairPrompt(
          step.backend,
          context.messages,
          previous,
          step.info.contextSize,
          numPredict,
        );
        return generateRound(rounds, current, messages, previous);
      },
    });
    throwIfCancelled(this.options.signal);
    return outcome;
  }

  /** The suggestion: the best round's answer with its `verification` (UNVERIFIED, and why, when no check ran on it). */
  private withVerdict(context: RunContext, outcome: RepairOutcome): CodeSuggestion {
    const { info, style } = context.step;
    const { best } = outcome;
    const { plan } = context;
    const notes = [style.note, ...best.cutFields];
    const unchecked = (!this.verifier || changesNothing(best.answer)) && best.problems.length === 0;
    const why = changesNothing(best.answer)
      ? "the answer is an explanation and changes no file (the task names none)"
      : plan.run
        ? "verification is off"
        : plan.reason;
    const verification = unchecked ? unverifiedReport(info, why, notes) : verifiedReport(outcome, info, notes);
    this.logger.info(
      { verdict: verification.verdict, repair_rounds: outcome.repairRounds, stopped: outcome.stopped },
      "suggestion produced",
    );
    return { ...best.answer, verification };
  }

  /**
   * Settles the suggestion's paths and base hashes, records the metrics (usage summed over every
   * round) and the training example (VERIFIED and FAILED runs, apart; UNVERIFIED runs record nothing).
   */
  private async result(
    context: RunContext,
    suggestion: CodeSuggestion,
    outcome: RepairOutcome,
  ): Promise<RunTaskResult> {
    await settleSuggestionPaths(suggestion, this.sandbox, context.workspace);
    const verdict = suggestion.verification.verdict;
    const checksRan = outcome.attempts.some((a) => a.report.checks.some((c) => c.name !== "edits"));
    const metrics = await this.recordMetrics({
      success: true,
      error: null,
      verification: checksRan || verdict === "FAILED" ? outcome : undefined,
      verdict,
    });
    await recordTrainingExample(
      {
        workspace: this.sandbox.root,
        runId: this.runId,
        task: context.task,
        messages: context.messages,
        suggestion,
        promptTokens: metrics.prompt_tokens,
        generatedTokens: metrics.generated_tokens,
      },
      this.logger,
    );
    return { runId: this.runId, suggestion, metrics, info: context.step.info, context: context.explanation };
  }

  /**
   * What a failed run throws: a cancelled run writes nothing, not even its metrics line (the caller
   * asked for it not to have happened); any other failure records its metrics and is a {@link RunFailure}.
   */
  private async failure(caught: unknown): Promise<Error> {
    const error = toBuilderError(caught);
    if (error.code === "CANCELLED") return error;
    const metrics = await this.recordMetrics({ success: false, error: error.code });
    return new RunFailure(error, metrics, this.info);
  }

  /** The run's metrics line, logged on stderr and appended to the workspace's metrics file. */
  private async recordMetrics(
    end: Pick<RunMetricsInput, "success" | "error" | "verification" | "verdict">,
  ): Promise<RunMetrics> {
    const { config } = this.options;
    const metrics = buildRunMetrics({
      runId: this.runId,
      taskId: this.task.task_id,
      info: this.info,
      usage: this.usage,
      started: this.started,
      backendName: config.backend,
      model: config.model,
      ...end,
    });
    await recordRunMetrics(metrics, config.workspace, this.logger);
    return metrics;
  }

  /** Removes the scratch copy and disposes of the backend, unless the caller lent it. */
  private async release(backend: Backend): Promise<void> {
    // A verifier that failed to open has nothing to remove (and its error was reported above, if it mattered).
    const opened = await this.verifier?.catch(() => undefined);
    if (opened)
      await opened
        .dispose()
        .catch((error: unknown) => this.logger.warn({ err: error }, "could not remove the verification scratch copy"));
    if (!this.options.backend) await backend.dispose();
  }
}
