import { newRunId } from "../format/run-id.js";
import path from "node:path";
import type { Logger } from "pino";
import type { BuilderConfig } from "../config/load.js";
import { createBackend } from "../backends/create-backend.js";
import type { Backend, BackendInfo, ChatMessage, GenerateResult } from "../backends/types.js";
import { assembleContext, type ContextExplanation } from "../context/assemble.js";
import { loadPriming } from "../context/priming.js";
import { gatherWorkspaceContext, normalizeTaskFiles } from "../context/workspace-context.js";
import { loadFewShot } from "../learning/few-shot.js";
import { recordTrainingExample } from "../learning/record-training.js";
import { BuilderError, GenerationError, GenerationTruncatedError, toBuilderError } from "../errors/errors.js";
import { assertAnswerFileAllowed } from "../task/answer-files.js";
import { answerJsonSchema, fieldsAtBound } from "../task/answer-schema.js";
import { ModelAnswerSchema, type BuilderTask, type CodeSuggestion, type ModelAnswer } from "../task/schema.js";
import { getLogger } from "../telemetry/logger.js";
import { recordRunMetrics, round, tokensPerSecond, type RunMetrics } from "../telemetry/metrics.js";
import { Verifier, planVerification } from "../verify/verify.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { baseHashesFor } from "../workspace/suggestion-apply.js";
import { planAnswerBudget } from "./budget.js";
import { RunFailure } from "./run-failure.js";
import { REPAIR_DIAGNOSTIC_LIMITS, buildRepairMessages, verifyWithRepairs, type Attempt, type GeneratedAnswer, type RepairOutcome } from "./repair.js";
import { roundMetrics, unverifiedReport, verificationSection, verifiedReport, verifyAnswer } from "./verification-step.js";

/** Options for {@link runTask}. */
export interface RunTaskOptions {
  config: BuilderConfig;
  /** A backend to reuse across tasks (it stays loaded); by default one is created and disposed. */
  backend?: Backend;
  logger?: Logger;
  signal?: AbortSignal;
  onTextChunk?: (text: string) => void;
  /** Receives what went into the prompt and what was dropped (`--explain-context`), also when it does not fit. */
  onContext?: (explanation: ContextExplanation) => void;
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
 * The agent loop for one task: prime, generate a schema-constrained answer, verify it in a scratch
 * copy of the workspace and repair it while it fails (bounded), report honestly, and record metrics
 * whether it worked or not. A FAILED verdict is a result, not an exception: the caller decides.
 */
export async function runTask(task: BuilderTask, options: RunTaskOptions): Promise<RunTaskResult> {
  const { config } = options;
  const logger = options.logger ?? getLogger();
  const runId = newRunId();
  const started = performance.now();
  // A bad task (an unknown context pack) or an unreadable knowledge file fails here, before anything
  // runs or is recorded.
  const priming = await loadPriming(config.knowledge, config.packs, task.constraints.pack, configDir(config));
  const backend = options.backend ?? createBackend(config);
  let info: BackendInfo | undefined;
  let generation: GenerateResult | undefined;
  let promptTokens = 0;
  let verifier: Promise<Verifier> | undefined;
  try {
    // Every path is checked against the workspace before the model loads; the scan runs while it does.
    const sandbox = await WorkspaceSandbox.fromConfig(config);
    const root = sandbox.root;
    const workspaceTask = await normalizeTaskFiles(sandbox, task);
    const gathering = gatherWorkspaceContext(sandbox, workspaceTask);
    gathering.catch(() => undefined);
    const knowledge = priming.map((section) => section.content).join("\n");
    const plan = planVerification(root, config.verify);
    // The scratch copy is made while the model loads and generates.
    verifier = plan.run ? Verifier.open(root, config.verify, logger) : undefined;
    verifier?.catch(() => undefined);
    const fewShot = await loadFewShot(workspaceTask, root, config.fewShot ?? { examples: 0, maxTokens: 0 }, logger);
    info = await backend.prepare();
    const backendInfo = info;
    const workspace = await gathering;
    const context = await assembleContext({
      task: workspaceTask,
      priming,
      workspace,
      counter: backend,
      contextSize: info.contextSize,
      numPredict: config.options.num_predict,
      examples: fewShot.selection.map((picked, i) => ({
        label: `${picked.example.task.task_id} (score ${picked.score.toFixed(2)})`,
        messages: fewShot.messages.slice(i * 2, i * 2 + 2),
      })),
      requirements: plan.run ? [verificationSection(workspaceTask, root, config.verify, knowledge)] : [],
      onExplain: (explanation) => {
        // Kept for the metrics line also when the prompt does not fit and assembly throws.
        promptTokens = explanation.prompt_tokens;
        options.onContext?.(explanation);
      },
    });
    const messages = context.messages;
    const generate = async (request: ChatMessage[], repairOf?: Attempt): Promise<GeneratedAnswer> => {
      return generateAnswer(
        { backend, info: backendInfo, config, task: workspaceTask, messages: request, options, logger, repairOf },
        {
          promptCounted: (tokens) => (promptTokens ||= tokens),
          generated: (result) => (generation ??= result),
        },
      );
    };
    const first = await generate(messages);
    let suggestion: CodeSuggestion;
    let outcome: RepairOutcome | undefined;
    if (!plan.run || !verifier) {
      suggestion = { ...first.answer, verification: unverifiedReport(info, plan.run ? "verification is off" : plan.reason, first.cutFields) };
    } else {
      const ready = await verifier;
      outcome = await verifyWithRepairs(first, {
        maxRepairs: config.verify.maxRepairs,
        verify: (answer) => verifyAnswer(ready, root, answer, workspaceTask, knowledge),
        repair: async (previous) => generate(await fitRepairPrompt(backend, messages, previous, backendInfo.contextSize, config.options.num_predict), previous),
      });
      suggestion = { ...outcome.best.answer, verification: verifiedReport(outcome, info, outcome.best.cutFields) };
      logger.info({ verdict: suggestion.verification.verdict, repair_rounds: outcome.repairRounds, stopped: outcome.stopped }, "verification finished");
    }
    // A file_path outside the workspace (or on the deny list) fails the run, unless verification already
    // reported it as a failed check (a FAILED suggestion is never written anyway).
    const failed = suggestion.verification.verdict === "FAILED";
    const target = await sandbox.resolveForWrite(suggestion.file_path).catch((error: unknown) => {
      if (failed) return undefined;
      throw error;
    });
    if (target) {
      suggestion.file_path = target.relative;
      const atPrompt = Object.fromEntries(workspace.taskFiles.map((file) => [file.path, file.hash]));
      suggestion.base_hashes = await baseHashesFor(suggestion, sandbox, atPrompt);
    }
    const metrics = buildMetrics({ runId, task, info, generation, started, promptTokens, success: true, error: null, backendName: config.backend, model: config.model, outcome, verdict: suggestion.verification.verdict });
    await recordRunMetrics(metrics, config.workspace, logger);
    // Records VERIFIED / FAILED runs as training data (apart); UNVERIFIED runs record nothing.
    await recordTrainingExample({ workspace: root, runId, task: workspaceTask, messages, suggestion, promptTokens: metrics.prompt_tokens, generatedTokens: metrics.generated_tokens }, logger);
    return { runId, suggestion, metrics, info, context: context.explanation };
  } catch (caught) {
    const error = toBuilderError(caught);
    const metrics = buildMetrics({ runId, task, info, generation, started, promptTokens, success: false, error: error.code, backendName: config.backend, model: config.model });
    await recordRunMetrics(metrics, config.workspace, logger);
    throw new RunFailure(error, metrics, info);
  } finally {
    // A verifier that failed to open has nothing to remove (and its error was reported above, if it mattered).
    const opened = await verifier?.catch(() => undefined);
    if (opened) await opened.dispose().catch((error: unknown) => logger.warn({ err: error }, "could not remove the verification scratch copy"));
    if (!options.backend) await backend.dispose();
  }
}

/** Inputs of one generation. */
interface GenerateInput {
  backend: Backend;
  info: BackendInfo;
  config: BuilderConfig;
  task: BuilderTask;
  messages: ChatMessage[];
  options: RunTaskOptions;
  logger: Logger;
  repairOf?: Attempt;
}

/**
 * One schema-constrained generation, parsed: fails on a truncated, cancelled or malformed answer.
 * `observe` sees the prompt size (before the budget can fail) and the raw result.
 */
async function generateAnswer(input: GenerateInput, observe: { promptCounted(tokens: number): void; generated(result: GenerateResult): void }): Promise<GeneratedAnswer> {
  const { backend, config, task, logger } = input;
  const count = await backend.countPromptTokens(input.messages);
  observe.promptCounted(count.tokens);
  const maxTokens = planAnswerBudget({ promptTokens: count.tokens, contextSize: input.info.contextSize, numPredict: config.options.num_predict, exact: count.exact });
  const schema = answerJsonSchema(task, maxTokens, config.boundedAnswer);
  logger.debug({ task_id: task.task_id, prompt_tokens: count.tokens, max_tokens: maxTokens, repair_of_round: input.repairOf?.round }, "generating");
  const result = await backend.generate({
    messages: input.messages,
    schema: schema as unknown as Record<string, unknown>,
    sampling: {
      maxTokens,
      temperature: config.options.temperature ?? 0.2,
      topP: config.options.top_p,
      topK: config.options.top_k,
      repeatPenalty: config.options.repeat_penalty,
      seed: config.options.seed,
    },
    signal: input.options.signal,
    onTextChunk: input.options.onTextChunk,
  });
  observe.generated(result);
  if (result.stopReason === "length") {
    throw new GenerationTruncatedError(
      `Generation stopped at the token limit (num_predict=${maxTokens}) before the answer was complete. ` +
        `Raise options.num_predict (and num_ctx to hold it), or ask for a smaller change.`,
      { num_predict: maxTokens, generated_tokens: result.metrics.generatedTokens },
    );
  }
  if (result.stopReason === "abort") throw new GenerationError("Generation was cancelled before the answer was complete.");
  const answer = parseAnswer(result.text);
  assertAnswerFileAllowed(answer, task);
  const cutFields = fieldsAtBound(answer, schema).map(
    (field) => `${field} filled its whole length bound (${String(schema.properties[field as keyof typeof schema.properties].maxLength)} chars): the model may have been cut off there; raise options.num_predict for longer answers.`,
  );
  return { answer, generation: result, cutFields };
}

/**
 * The repair prompt, with as many diagnostics as fit: fewer lines per check until the prompt leaves
 * room for the answer; when even one line does not fit, the context is too small for a repair.
 */
async function fitRepairPrompt(backend: Backend, base: ChatMessage[], previous: Attempt, contextSize: number, numPredict: number | undefined): Promise<ChatMessage[]> {
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

function parseAnswer(text: string): ModelAnswer {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GenerationError(`The model's answer is not valid JSON (${(error as Error).message}); nothing was produced.`, {
      answer_start: text.slice(0, 200),
    });
  }
  const parsed = ModelAnswerSchema.safeParse(value);
  if (!parsed.success) {
    throw new GenerationError(`The model's answer does not match the suggestion schema: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}.`);
  }
  return parsed.data;
}

interface MetricsInput {
  runId: string;
  task: BuilderTask;
  info: BackendInfo | undefined;
  generation: GenerateResult | undefined;
  started: number;
  /** Tokens counted before generation: kept even when the run fails before generating. */
  promptTokens: number;
  success: boolean;
  error: string | null;
  backendName: string;
  model: string | undefined;
  /** The verification rounds, when checks ran. */
  outcome?: RepairOutcome;
  verdict?: string;
}

function buildMetrics(input: MetricsInput): RunMetrics {
  const g = input.generation?.metrics;
  return {
    event: "run",
    run_id: input.runId,
    timestamp: new Date().toISOString(),
    task_id: input.task.task_id,
    backend: input.info?.backend ?? input.backendName,
    model: input.info?.model ?? input.model ?? "",
    // Loading in this process (embedded) plus loading reported by a server for this request (Ollama's load_duration).
    load_ms: round((input.info?.loadMs ?? 0) + (g?.loadMs ?? 0)),
    prompt_tokens: g?.promptTokens ?? input.promptTokens,
    prompt_ms: g?.promptMs !== undefined ? round(g.promptMs) : null,
    time_to_first_token_ms: g?.timeToFirstTokenMs !== undefined ? round(g.timeToFirstTokenMs) : null,
    generated_tokens: g?.generatedTokens ?? 0,
    tokens_per_sec: g ? tokensPerSecond(g.generatedTokens, g.generationMs) : null,
    total_ms: round(performance.now() - input.started),
    success: input.success,
    error: input.error,
    ...(input.verdict !== undefined ? { verdict: input.verdict } : {}),
    ...(input.outcome ? verificationMetrics(input.outcome) : {}),
  };
}

function verificationMetrics(outcome: RepairOutcome): Pick<RunMetrics, "repair_rounds" | "verify_ms" | "check_ms" | "rounds"> {
  const rounds = roundMetrics(outcome);
  const checkMs: Record<string, number> = {};
  for (const r of rounds) for (const [name, ms] of Object.entries(r.check_ms)) checkMs[name] = round((checkMs[name] ?? 0) + ms);
  return {
    repair_rounds: outcome.repairRounds,
    verify_ms: round(outcome.attempts.reduce((sum, a) => sum + a.report.durationMs, 0)),
    check_ms: checkMs,
    rounds,
  };
}

function configDir(config: BuilderConfig): string {
  return config.configPath ? path.dirname(config.configPath) : config.workspace;
}
