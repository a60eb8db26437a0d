import { randomBytes } from "node:crypto";
import path from "node:path";
import type { Logger } from "pino";
import type { BuilderConfig } from "../config/load.js";
import { createBackend } from "../backends/create-backend.js";
import type { Backend, BackendInfo, GenerateResult } from "../backends/types.js";
import { assembleContext, type ContextExplanation } from "../context/assemble.js";
import { loadPriming } from "../context/priming.js";
import { gatherWorkspaceContext, normalizeTaskFiles } from "../context/workspace-context.js";
import { BuilderError, GenerationError, GenerationTruncatedError, toBuilderError } from "../errors/errors.js";
import { answerJsonSchema, fieldsAtBound } from "../task/answer-schema.js";
import { ModelAnswerSchema, type BuilderTask, type CodeSuggestion, type ModelAnswer } from "../task/schema.js";
import { getLogger } from "../telemetry/logger.js";
import { recordRunMetrics, round, tokensPerSecond, type RunMetrics } from "../telemetry/metrics.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { baseHashesFor } from "../workspace/suggestion-apply.js";
import { planAnswerBudget } from "./budget.js";

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

/** Thrown when a run fails; carries the metrics that were recorded for it. */
export class RunFailure extends Error {
  constructor(
    readonly error: BuilderError,
    readonly metrics: RunMetrics,
    readonly info: BackendInfo | undefined,
  ) {
    super(error.message, { cause: error });
  }
}

/**
 * The agent loop for one task: prime, generate a schema-constrained answer, report honestly, and
 * record metrics whether it worked or not.
 */
export async function runTask(task: BuilderTask, options: RunTaskOptions): Promise<RunTaskResult> {
  const { config } = options;
  const logger = options.logger ?? getLogger();
  const runId = newRunId();
  const started = performance.now();
  const backend = options.backend ?? createBackend(config);
  let info: BackendInfo | undefined;
  let generation: GenerateResult | undefined;
  let promptTokens = 0;
  try {
    // Every path is checked against the workspace before the model loads; the scan runs while it does.
    const sandbox = await WorkspaceSandbox.fromConfig(config);
    const workspaceTask = await normalizeTaskFiles(sandbox, task);
    const gathering = gatherWorkspaceContext(sandbox, workspaceTask);
    gathering.catch(() => undefined);
    const priming = await loadPriming(config.knowledge, config.packs, task.constraints.pack, configDir(config));
    info = await backend.prepare();
    const workspace = await gathering;
    const context = await assembleContext({
      task: workspaceTask,
      priming,
      workspace,
      counter: backend,
      contextSize: info.contextSize,
      numPredict: config.options.num_predict,
      onExplain: options.onContext,
    });
    const messages = context.messages;
    promptTokens = context.promptTokens;
    const maxTokens = planAnswerBudget({ promptTokens, contextSize: info.contextSize, numPredict: config.options.num_predict, exact: context.exact });
    const schema = answerJsonSchema(workspaceTask, maxTokens, config.boundedAnswer);
    logger.debug({ task_id: task.task_id, prompt_tokens: promptTokens, max_tokens: maxTokens }, "generating");
    generation = await backend.generate({
      messages,
      schema: schema as unknown as Record<string, unknown>,
      sampling: {
        maxTokens,
        temperature: config.options.temperature ?? 0.2,
        topP: config.options.top_p,
        topK: config.options.top_k,
        repeatPenalty: config.options.repeat_penalty,
        seed: config.options.seed,
      },
      signal: options.signal,
      onTextChunk: options.onTextChunk,
    });
    if (generation.stopReason === "length") {
      throw new GenerationTruncatedError(
        `Generation stopped at the token limit (num_predict=${maxTokens}) before the answer was complete. ` +
          `Raise options.num_predict (and num_ctx to hold it), or ask for a smaller change.`,
        { num_predict: maxTokens, generated_tokens: generation.metrics.generatedTokens },
      );
    }
    if (generation.stopReason === "abort") throw new GenerationError("Generation was cancelled before the answer was complete.");
    const parsed = parseAnswer(generation.text);
    // A file_path outside the workspace (or on the deny list) fails the run: such a suggestion is never written.
    const answer = { ...parsed, file_path: (await sandbox.resolveForWrite(parsed.file_path)).relative };
    const cutFields = fieldsAtBound(parsed, schema);
    const atPrompt = Object.fromEntries(workspace.taskFiles.map((file) => [file.path, file.hash]));
    const suggestion: CodeSuggestion = {
      ...answer,
      verification: {
        verdict: "UNVERIFIED",
        summary: `Generated by ${path.basename(info.model)} on the ${info.backend} backend. Not verified: no checks ran, so nothing about this code is known to work.`,
        produced_by: { backend: info.backend, model: info.model },
        checks: [],
        notes: cutFields.map(
          (field) => `${field} filled its whole length bound (${String(schema.properties[field as keyof typeof schema.properties].maxLength)} chars): the model may have been cut off there; raise options.num_predict for longer answers.`,
        ),
      },
      base_hashes: await baseHashesFor(answer, sandbox, atPrompt),
    };
    const metrics = buildMetrics({ runId, task, info, generation, started, promptTokens, success: true, error: null, backendName: config.backend, model: config.model });
    await recordRunMetrics(metrics, config.workspace, logger);
    return { runId, suggestion, metrics, info, context: context.explanation };
  } catch (caught) {
    const error = toBuilderError(caught);
    const metrics = buildMetrics({ runId, task, info, generation, started, promptTokens, success: false, error: error.code, backendName: config.backend, model: config.model });
    await recordRunMetrics(metrics, config.workspace, logger);
    throw new RunFailure(error, metrics, info);
  } finally {
    if (!options.backend) await backend.dispose();
  }
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
    load_ms: round(input.info?.loadMs ?? 0),
    prompt_tokens: g?.promptTokens ?? input.promptTokens,
    prompt_ms: g?.promptMs !== undefined ? round(g.promptMs) : null,
    time_to_first_token_ms: g?.timeToFirstTokenMs !== undefined ? round(g.timeToFirstTokenMs) : null,
    generated_tokens: g?.generatedTokens ?? 0,
    tokens_per_sec: g ? tokensPerSecond(g.generatedTokens, g.generationMs) : null,
    total_ms: round(performance.now() - input.started),
    success: input.success,
    error: input.error,
  };
}

function newRunId(): string {
  return `${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "")}-${randomBytes(3).toString("hex")}`;
}

function configDir(config: BuilderConfig): string {
  return config.configPath ? path.dirname(config.configPath) : config.workspace;
}
