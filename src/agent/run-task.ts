import { newRunId } from "../format/run-id.js";
import path from "node:path";
import type { Logger } from "pino";
import type { BuilderConfig } from "../config/load.js";
import { createBackend } from "../backends/create-backend.js";
import type { Backend, BackendInfo, GenerateResult } from "../backends/types.js";
import {
  assembleContext,
  type AssembledContext,
  type AssembleInput,
  type ContextExplanation,
} from "../context/assemble.js";
import { instructionsFor } from "../context/prompt.js";
import { loadPriming, type KnowledgeSection } from "../context/priming.js";
import { gatherWorkspaceContext, normalizeTaskFiles, type WorkspaceContext } from "../context/workspace-context.js";
import { loadFewShot } from "../learning/few-shot.js";
import { recordTrainingExample } from "../learning/record-training.js";
import { PathDeniedError, toBuilderError, WorkspaceEscapeError } from "../errors/errors.js";
import { resolveAnswerStyle, type AnswerStyle } from "../answer/answer-plan.js";
import { allowedFilesFor, type AllowedFiles } from "../answer/resolve-changes.js";
import type { BuilderTask, CodeSuggestion, ModelAnswer } from "../task/schema.js";
import { getLogger } from "../telemetry/logger.js";
import { recordRunMetrics, round, tokensPerSecond, type RunMetrics } from "../telemetry/metrics.js";
import { detectTestConvention, testPathFor } from "../verify/edits.js";
import { Verifier, planVerification, type VerificationPlan } from "../verify/verify.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { baseHashesFor } from "../workspace/suggestion-apply.js";
import { isTestFile } from "../workspace/test-placement.js";
import { planAnswerBudget } from "./budget.js";
import { RunFailure } from "./run-failure.js";
import { CONTEXT_BUCKETS } from "../context-window/policy.js";
import { MAX_TOKEN_BYTES_ANY_MODEL, refuseOversizedBySize } from "../context/size-bound.js";
import { editProblemsReport, type AnswerStepInput, type UsageObserver } from "./answer-step.js";
import {
  REPAIR_DIAGNOSTIC_LIMITS,
  buildRepairMessages,
  verifyWithRepairs,
  type Attempt,
  type RepairOutcome,
} from "./repair.js";
import {
  roundMetrics,
  unverifiedReport,
  verificationSection,
  verifiedReport,
  verifyAnswer,
} from "./verification-step.js";
import type { ChatMessage } from "../backends/types.js";
import { contextEvent, type RunEventListener } from "./events.js";
import { throwIfCancelled } from "./cancel.js";
import { generateRound, loadBackend, reportChecks, safeEmitter } from "./run-rounds.js";

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

/** Token usage over every generation of a run (first answer and repairs), as the metrics report it. */
export class RunUsage implements UsageObserver {
  /** Prompt tokens counted before each generation (kept when a run fails before generating). */
  private counted: number[] = [];
  /** The context assembly's count of the first prompt: the prompt size when no generation counted one. */
  private assembledTokens: number | undefined;
  readonly rounds: GenerateResult[] = [];

  promptCounted(tokens: number): void {
    this.counted.push(tokens);
  }

  generated(result: GenerateResult): void {
    this.rounds.push(result);
  }

  /** Set from the context assembly, before any generation (its count of the first prompt). */
  assembled(tokens: number): void {
    this.assembledTokens = tokens;
  }

  /** The usage fields of a metrics line: sums over the rounds (the first round's time to first token). */
  metrics(): Pick<
    RunMetrics,
    "prompt_tokens" | "prompt_ms" | "time_to_first_token_ms" | "generated_tokens" | "tokens_per_sec"
  > & { loadMs: number } {
    const all = this.rounds.map((r) => r.metrics);
    const sum = (pick: (m: GenerateResult["metrics"]) => number | undefined): number =>
      all.reduce((total, m) => total + (pick(m) ?? 0), 0);
    const first = all[0];
    const generated = sum((m) => m.generatedTokens);
    return {
      prompt_tokens:
        all.length > 0
          ? sum((m) => m.promptTokens)
          : this.counted.length > 0
            ? this.counted.reduce((a, b) => a + b, 0)
            : (this.assembledTokens ?? 0),
      prompt_ms: all.some((m) => m.promptMs !== undefined) ? round(sum((m) => m.promptMs)) : null,
      time_to_first_token_ms: first?.timeToFirstTokenMs !== undefined ? round(first.timeToFirstTokenMs) : null,
      generated_tokens: generated,
      tokens_per_sec:
        all.length > 0
          ? tokensPerSecond(
              generated,
              sum((m) => m.generationMs),
            )
          : null,
      loadMs: sum((m) => m.loadMs),
    };
  }
}

/**
 * The agent loop for one task: prepare the run (priming, workspace, prompt), produce the suggestion
 * (an answer constrained to the task's files, then repairs while its edits do not apply or its checks
 * fail, bounded), and finish it (paths, base hashes, metrics summed over every round, training data).
 * A FAILED verdict is a result, not an exception: the caller decides.
 */
export async function runTask(task: BuilderTask, options: RunTaskOptions): Promise<RunTaskResult> {
  const { config } = options;
  const logger = options.logger ?? getLogger();
  const runId = newRunId();
  const started = performance.now();
  // A bad task (an unknown context pack) or an unreadable knowledge file fails here, before anything
  // runs or is recorded.
  // Knowledge files obey the sandbox too (inside the workspace, deny list applied) unless allow-listed.
  const sandbox = await WorkspaceSandbox.fromConfig(config);
  const priming = await loadProjectPriming(config, task.constraints.pack, logger, options.knowledgeWorkspace);
  const emit = safeEmitter(options.onEvent, logger);
  emit({ type: "started", run_id: runId, task_id: task.task_id, backend: config.backend, model: config.model ?? "" });
  const backend = options.backend ?? createBackend(config);
  const usage = new RunUsage();
  let info: BackendInfo | undefined;
  let verifier: Promise<Verifier> | undefined;
  try {
    const run = await prepareRun(
      task,
      sandbox,
      priming,
      backend,
      options,
      logger,
      usage,
      (opened) => (verifier = opened),
      emit,
    );
    info = run.info;
    const produced = await produceSuggestion(run);
    return await finishRun(run, produced, { runId, task, started, usage });
  } catch (caught) {
    const error = toBuilderError(caught);
    // A cancelled run writes nothing, not even its metrics line: the caller asked for it not to have happened.
    if (error.code === "CANCELLED") throw error;
    const metrics = buildMetrics({
      runId,
      task,
      info,
      usage,
      started,
      success: false,
      error: error.code,
      backendName: config.backend,
      model: config.model,
    });
    await recordRunMetrics(metrics, config.workspace, logger);
    throw new RunFailure(error, metrics, info);
  } finally {
    // A verifier that failed to open has nothing to remove (and its error was reported above, if it mattered).
    const opened = await (verifier as Promise<Verifier> | undefined)?.catch(() => undefined);
    if (opened)
      await opened
        .dispose()
        .catch((error: unknown) => logger.warn({ err: error }, "could not remove the verification scratch copy"));
    if (!options.backend) await backend.dispose();
  }
}

/** Everything a prepared run holds: the workspace, the prompt, the answer's style and allowed files. */
interface PreparedRun {
  config: BuilderConfig;
  options: RunTaskOptions;
  logger: Logger;
  backend: Backend;
  info: BackendInfo;
  sandbox: WorkspaceSandbox;
  task: BuilderTask;
  workspace: WorkspaceContext;
  knowledge: string;
  plan: VerificationPlan;
  verifier?: Promise<Verifier>;
  messages: ChatMessage[];
  context: ContextExplanation;
  style: AnswerStyle;
  step: AnswerStepInput;
  usage: RunUsage;
  emit: RunEventListener;
}

/**
 * Checks the task's files against the workspace and joins them by their test files; resolves the folders
 * where the model may create files: those of the task's files and those it names with a trailing
 * slash. A task that names nothing allows no change: its answer is an explanation.
 */
async function resolveTaskFiles(
  task: BuilderTask,
  sandbox: WorkspaceSandbox,
): Promise<{ workspaceTask: BuilderTask; newFileFolders: string[] }> {
  const root = sandbox.root;
  const folders = task.files.filter((f) => f.endsWith("/"));
  const named = await normalizeTaskFiles(sandbox, { ...task, files: task.files.filter((f) => !f.endsWith("/")) });
  const withTests = [...named.files];
  for (const file of named.files) {
    if (isTestFile(file)) continue;
    const testPath = testPathFor(file, detectTestConvention(root, file));
    if (!withTests.includes(testPath)) withTests.push((await sandbox.resolveForWrite(testPath)).relative);
  }
  const workspaceTask: BuilderTask = { ...named, files: withTests };
  const newFileFolders = await Promise.all(
    folders.map(async (f) =>
      (await sandbox.resolveForWrite(f.replace(/\/+$/, "") || ".")).relative.replace(/^\.$/, ""),
    ),
  );
  return { workspaceTask, newFileFolders };
}

/**
 * Assembles the prompt against the window the backend gives. With `num_ctx: auto` (a backend that can
 * choose: `autoWindowCap`), against the largest window it may open, which then opens at the smallest
 * bucket holding prompt and answer; returns the backend's info with that window.
 */
async function assemblePrompt(
  prepared: BackendInfo,
  backend: Backend,
  input: AssembleInput,
): Promise<{ context: AssembledContext; info: BackendInfo }> {
  let info = prepared;
  const fitWindow = prepared.autoWindowCap !== undefined ? backend.fitWindow?.bind(backend) : undefined;
  const context = await assembleContext({
    ...input,
    contextSize: fitWindow ? (prepared.autoWindowCap ?? prepared.contextSize) : prepared.contextSize,
    requestedContextSize: fitWindow ? "auto" : (prepared.requestedContextSize ?? "auto"),
    autoWindow: fitWindow
      ? {
          fit: async (needed) => {
            info = await fitWindow(needed);
            return info.contextSize;
          },
        }
      : undefined,
  });
  return { context, info };
}

/**
 * Checks every path against the workspace before the model loads (the scan runs while it does),
 * opens the scratch copy for verification, loads the backend and assembles the prompt. The task's
 * files are joined by their test files (by the workspace's convention), so the tests are one more change.
 */
async function prepareRun(
  task: BuilderTask,
  sandbox: WorkspaceSandbox,
  priming: KnowledgeSection[],
  backend: Backend,
  options: RunTaskOptions,
  logger: Logger,
  usage: RunUsage,
  onVerifier: (verifier: Promise<Verifier>) => void,
  emit: RunEventListener,
): Promise<PreparedRun> {
  const { config } = options;
  const root = sandbox.root;
  const { workspaceTask, newFileFolders } = await resolveTaskFiles(task, sandbox);
  const gathering = gatherWorkspaceContext(sandbox, workspaceTask);
  gathering.catch(() => undefined);
  const knowledge = priming.map((section) => section.content).join("\n");
  refuseHugeTaskBeforeLoading(task, config);
  const plan = planVerification(root, config.verify);
  const verifier = plan.run ? openVerifier(root, config, logger, onVerifier) : undefined;
  const fewShot = await loadFewShot(workspaceTask, root, config.fewShot ?? { examples: 0, maxTokens: 0 }, logger);
  const prepared = await loadBackend(backend, emit, options.signal);
  const workspace = await gathering;
  const style = resolveAnswerStyle(prepared.backend, config.answer.format, config.answer.edits);
  const { context, info } = await assemblePrompt(prepared, backend, {
    task: workspaceTask,
    priming,
    workspace,
    counter: backend,
    contextSize: prepared.contextSize,
    numPredict: config.options.num_predict,
    instructions: instructionsFor(style.format),
    newFileFolders,
    examples: fewShotSections(fewShot),
    requirements: plan.run ? [verificationSection(workspaceTask, root, config.verify, knowledge)] : [],
    onExplain: explained(usage, emit, options),
  });
  // A file shown in regions: an edit may quote only the lines shown.
  const allowed: AllowedFiles = {
    ...allowedFilesFor(workspace.taskFiles, newFileFolders),
    shown: context.shownRegions,
  };
  const step = answerStep({ backend, info, config, style, allowed, newFileFolders, logger }, sandbox, options);
  return {
    config,
    options,
    logger,
    backend,
    info,
    sandbox,
    task: workspaceTask,
    workspace,
    knowledge,
    plan,
    verifier,
    messages: context.messages,
    context: context.explanation,
    style,
    step,
    usage,
    emit,
  };
}

/** What the context assembly explains goes to the metrics (also when the prompt does not fit and assembly throws), the events and `onContext`. */
function explained(
  usage: RunUsage,
  emit: RunEventListener,
  options: RunTaskOptions,
): (explanation: ContextExplanation) => void {
  return (explanation) => {
    usage.assembled(explanation.prompt_tokens);
    emit(contextEvent(explanation));
    options.onContext?.(explanation);
  };
}

/** What every generation of the run gets: the answer's setting, the sandbox's judgement of paths, the caller's stream. */
function answerStep(
  base: Omit<AnswerStepInput, "refusePath" | "signal" | "onTextChunk" | "onRestart">,
  sandbox: WorkspaceSandbox,
  options: RunTaskOptions,
): AnswerStepInput {
  return { ...base, refusePath: (p) => refusedBySandbox(sandbox, p), ...streamOf(options) };
}

/** True for an explanation alone: no file changed (a task that names no file). */
function changesNothing(answer: ModelAnswer): boolean {
  return answer.file_path === "" && (answer.changes ?? []).length === 0;
}

/** Why the workspace refuses to write a path the model chose (deny list, `.git`, a link out), or undefined. */
async function refusedBySandbox(sandbox: WorkspaceSandbox, file: string): Promise<string | undefined> {
  try {
    await sandbox.resolveForWrite(file);
    return undefined;
  } catch (error) {
    if (error instanceof PathDeniedError || error instanceof WorkspaceEscapeError) return error.message;
    throw error;
  }
}

/** What the caller gives every generation: its cancel signal and its answer-text listeners. */
function streamOf(options: RunTaskOptions): Pick<AnswerStepInput, "signal" | "onTextChunk" | "onRestart"> {
  return { signal: options.signal, onTextChunk: options.onTextChunk, onRestart: options.onRestart };
}

/** Starts the scratch copy for verification, made while the model loads and generates. */
function openVerifier(
  root: string,
  config: BuilderConfig,
  logger: Logger,
  onVerifier: (verifier: Promise<Verifier>) => void,
): Promise<Verifier> {
  const verifier = Verifier.open(root, config.verify, logger);
  verifier.catch(() => undefined);
  onVerifier(verifier);
  return verifier;
}

/** The few-shot examples as prompt sections: each one's task id and similarity score, and its two messages. */
function fewShotSections(
  fewShot: Awaited<ReturnType<typeof loadFewShot>>,
): Array<{ label: string; messages: ChatMessage[] }> {
  return fewShot.selection.map((picked, i) => ({
    label: `${picked.example.task.task_id} (score ${picked.score.toFixed(2)})`,
    messages: fewShot.messages.slice(i * 2, i * 2 + 2),
  }));
}

/**
 * The first answer and its repairs: an answer whose edits do not apply fails an `edits` check (and
 * goes back to the model with the nearest lines), one that applies is verified when verification
 * runs. Returns the suggestion with its `verification`.
 */
async function produceSuggestion(run: PreparedRun): Promise<{ suggestion: CodeSuggestion; outcome: RepairOutcome }> {
  const { config, info, plan, style } = run;
  const root = run.sandbox.root;
  const first = await generateRound(run, 0, run.messages);
  const ready = run.verifier ? await run.verifier : undefined;
  let current = 0;
  const outcome = await verifyWithRepairs(first, {
    maxRepairs: config.verify.maxRepairs,
    verify: async (answer, generated) => {
      if (generated && generated.problems.length > 0)
        return reportChecks(run, current, editProblemsReport(generated.problems));
      if (!ready || changesNothing(answer)) return { verdict: "UNVERIFIED", checks: [], notes: [], durationMs: 0 };
      return reportChecks(run, current, await verifyAnswer(ready, root, answer, run.task, run.knowledge));
    },
    repair: async (previous) => {
      current = previous.round + 1;
      const failed = previous.report.checks.filter((c) => c.status === "failed").map((c) => c.name);
      run.emit({ type: "repair", round: current, failed_checks: failed });
      const messages = await fitRepairPrompt(
        run.backend,
        run.messages,
        previous,
        info.contextSize,
        config.options.num_predict,
      );
      return generateRound(run, current, messages, previous);
    },
  });
  throwIfCancelled(run.options.signal);
  const best = outcome.best;
  const notes = [style.note, ...best.cutFields];
  const unchecked = (!ready || changesNothing(best.answer)) && best.problems.length === 0;
  const why = changesNothing(best.answer)
    ? "the answer is an explanation and changes no file (the task names none)"
    : plan.run
      ? "verification is off"
      : plan.reason;
  const verification = unchecked ? unverifiedReport(info, why, notes) : verifiedReport(outcome, info, notes);
  run.logger.info(
    { verdict: verification.verdict, repair_rounds: outcome.repairRounds, stopped: outcome.stopped },
    "suggestion produced",
  );
  return { suggestion: { ...best.answer, verification }, outcome };
}

/**
 * Checks every changed path for writing (outside the workspace or on the deny list fails the run,
 * unless verification already reported the suggestion FAILED: it is never written), records the base
 * hashes, the metrics (usage summed over every round) and the training example.
 */
async function finishRun(
  run: PreparedRun,
  produced: { suggestion: CodeSuggestion; outcome: RepairOutcome },
  meta: { runId: string; task: BuilderTask; started: number; usage: RunUsage },
): Promise<RunTaskResult> {
  const { suggestion, outcome } = produced;
  const { sandbox, config, logger } = run;
  const failed = suggestion.verification.verdict === "FAILED";
  const paths = [suggestion.file_path, ...(suggestion.changes ?? []).map((c) => c.path)];
  // An explanation alone (a task that names no file) has no path to check and nothing to hash.
  const explanationOnly = suggestion.file_path === "" && (suggestion.changes ?? []).length === 0;
  const targets = explanationOnly
    ? undefined
    : await Promise.all(paths.map((p) => sandbox.resolveForWrite(p))).catch((error: unknown) => {
        if (failed) return undefined;
        throw error;
      });
  if (explanationOnly) suggestion.base_hashes = {};
  if (targets) {
    suggestion.file_path = (targets[0] as { relative: string }).relative;
    suggestion.changes = suggestion.changes?.map((c, i) => ({
      ...c,
      path: (targets[i + 1] as { relative: string }).relative,
    }));
    const atPrompt = Object.fromEntries(run.workspace.taskFiles.map((file) => [file.path, file.hash]));
    suggestion.base_hashes = await baseHashesFor(suggestion, sandbox, atPrompt);
  }
  const ran = outcome.attempts.some((a) => a.report.checks.some((c) => c.name !== "edits"));
  const metrics = buildMetrics({
    runId: meta.runId,
    task: meta.task,
    info: run.info,
    usage: meta.usage,
    started: meta.started,
    success: true,
    error: null,
    backendName: config.backend,
    model: config.model,
    outcome: ran || failed ? outcome : undefined,
    verdict: suggestion.verification.verdict,
  });
  await recordRunMetrics(metrics, config.workspace, logger);
  // Records VERIFIED / FAILED runs as training data (apart); UNVERIFIED runs record nothing.
  await recordTrainingExample(
    {
      workspace: sandbox.root,
      runId: meta.runId,
      task: run.task,
      messages: run.messages,
      suggestion,
      promptTokens: metrics.prompt_tokens,
      generatedTokens: metrics.generated_tokens,
    },
    logger,
  );
  return { runId: meta.runId, suggestion, metrics, info: run.info, context: run.context };
}

/**
 * The repair prompt, with as many diagnostics as fit: fewer lines per check until the prompt leaves
 * room for the answer; when even one line does not fit, the context is too small for a repair.
 */
async function fitRepairPrompt(
  backend: Backend,
  base: ChatMessage[],
  previous: Attempt,
  contextSize: number,
  numPredict: number | undefined,
): Promise<ChatMessage[]> {
  let overflow: unknown;
  for (const limit of REPAIR_DIAGNOSTIC_LIMITS) {
    const messages = buildRepairMessages(base, previous, limit);
    const count = await backend.countPromptTokens(messages);
    try {
      planAnswerBudget({ promptTokens: count.tokens, contextSize, numPredict, exact: count.exact });
      return messages;
    } catch (error) {
      overflow = error;
    }
  }
  throw overflow;
}

interface MetricsInput {
  runId: string;
  task: BuilderTask;
  info: BackendInfo | undefined;
  usage: RunUsage;
  started: number;
  success: boolean;
  error: string | null;
  backendName: string;
  model: string | undefined;
  /** The verification rounds, when checks ran. */
  outcome?: RepairOutcome;
  verdict?: string;
}

function buildMetrics(input: MetricsInput): RunMetrics {
  const { loadMs, ...usage } = input.usage.metrics();
  return {
    event: "run",
    run_id: input.runId,
    timestamp: new Date().toISOString(),
    task_id: input.task.task_id,
    backend: input.info?.backend ?? input.backendName,
    model: input.info?.model ?? input.model ?? "",
    // Loading in this process (embedded) plus loading reported by a server for these requests (Ollama's load_duration).
    load_ms: round((input.info?.loadMs ?? 0) + loadMs),
    ...usage,
    total_ms: round(performance.now() - input.started),
    success: input.success,
    error: input.error,
    ...warmMetrics(input),
    ...(input.verdict !== undefined ? { verdict: input.verdict } : {}),
    ...(input.outcome ? verificationMetrics(input.outcome) : {}),
  };
}

/** Embedded-engine fields: where it ran, the cached prefix, and the drafts of every round. */
function warmMetrics(
  input: MetricsInput,
): Pick<
  RunMetrics,
  "engine" | "cached_prefix_tokens" | "draft_tokens_validated" | "draft_tokens_refuted" | "draft_switched_off"
> {
  if ((input.info?.backend ?? input.backendName) !== "embedded") return {};
  const generations = input.usage.rounds;
  const drafts = generations.map((g) => g.metrics.draftTokens).filter((d) => d !== undefined);
  return {
    engine:
      generations.some((g) => g.metrics.ranIn === "in-process") || input.info?.hostPid === undefined
        ? "in-process"
        : "host",
    ...(generations[0]?.metrics.cachedPrefixTokens !== undefined
      ? { cached_prefix_tokens: generations[0].metrics.cachedPrefixTokens }
      : {}),
    ...(drafts.length > 0
      ? {
          draft_tokens_validated: drafts.reduce((sum, d) => sum + d.validated, 0),
          draft_tokens_refuted: drafts.reduce((sum, d) => sum + d.refuted, 0),
          draft_switched_off: drafts.some((d) => d.switchedOff),
        }
      : {}),
  };
}

function verificationMetrics(
  outcome: RepairOutcome,
): Pick<RunMetrics, "repair_rounds" | "verify_ms" | "check_ms" | "rounds"> {
  const rounds = roundMetrics(outcome);
  const checkMs: Record<string, number> = {};
  for (const r of rounds)
    for (const [name, ms] of Object.entries(r.check_ms)) checkMs[name] = round((checkMs[name] ?? 0) + ms);
  return {
    repair_rounds: outcome.repairRounds,
    verify_ms: round(outcome.attempts.reduce((sum, a) => sum + a.report.durationMs, 0)),
    check_ms: checkMs,
    rounds,
  };
}

function configDir(config: BuilderConfig, workspace: string = config.workspace): string {
  return config.configPath ? path.dirname(config.configPath) : workspace;
}

/**
 * The knowledge files and the pack's, read through the sandbox of the project's workspace
 * (`projectWorkspace`, default `config.workspace`): inside it, deny list applied, unless allow-listed.
 * Throws for a missing, unreadable or out-of-workspace file: a setup error, before anything runs.
 */
export async function loadProjectPriming(
  config: BuilderConfig,
  packName: string,
  logger: Logger,
  projectWorkspace: string = config.workspace,
): Promise<KnowledgeSection[]> {
  const sandbox = await WorkspaceSandbox.open({ root: projectWorkspace, deny: config.deny });
  return loadPriming(config.knowledge, config.packs, packName, configDir(config, projectWorkspace), {
    sandbox,
    allowOutside: config.knowledgeAllowOutside,
    logger,
  });
}

/**
 * A task far larger than any window (a 20 MiB objective) is refused before the model loads and before
 * anything is tokenized, which would take minutes only to learn that it cannot fit. The window is at
 * most `num_ctx` (or, with `num_ctx: auto`, the largest bucket) on the embedded engine and on Ollama; an
 * OpenAI-compatible server may serve more, so there only a configured `num_ctx` bounds it.
 */
function refuseHugeTaskBeforeLoading(task: BuilderTask, config: BuilderConfig): void {
  const configured = config.options.num_ctx;
  if (configured === undefined && config.backend === "openai") return;
  refuseOversizedBySize({
    fixedTexts: [task.objective, ...task.acceptance],
    maxBytesPerToken: MAX_TOKEN_BYTES_ANY_MODEL,
    contextSize: configured ?? (CONTEXT_BUCKETS[CONTEXT_BUCKETS.length - 1] as number),
    reserve: 0,
    boundSource: "more than any token of a real vocabulary",
  });
}
