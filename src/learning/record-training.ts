import type { Logger } from "pino";
import type { ChatMessage } from "../backends/types.js";
import type { BuilderTask, CodeSuggestion } from "../task/schema.js";
import { appendJsonLine } from "../workspace/jsonl.js";
import { getLogger } from "../telemetry/logger.js";
import { maskSecretsForTraining } from "../telemetry/mask-secrets.js";
import { TRAINING_SCHEMA_VERSION, trainingFile, type TrainingExample } from "./training-example.js";

/** What {@link recordTrainingExample} needs from a finished run. */
export interface TrainingRunInput {
  workspace: string;
  runId: string;
  task: BuilderTask;
  /** The prompt as sent to the model. */
  messages: readonly ChatMessage[];
  /** The suggestion with its final verification verdict. */
  suggestion: CodeSuggestion;
  promptTokens?: number;
  generatedTokens?: number;
}

/** Where (and whether) the run was recorded. */
export type TrainingRecordOutcome = { recorded: true; file: string } | { recorded: false; reason: string };

/**
 * Records a finished run as training data, by its final verdict: VERIFIED runs go to
 * `.builder/training/verified.jsonl` (the only file `builder dataset export` and few-shot retrieval
 * read), FAILED runs to `failed.jsonl` (kept apart, never exported as good examples). UNVERIFIED runs
 * are not recorded: nothing is known about their quality, and storing every unchecked answer would
 * only grow a file no tool may use. Secret values are masked before the line is written (only values,
 * so the code stays compilable: see maskSecretsInCode), and the line is appended atomically. Never throws: training data must not fail a run.
 */
export async function recordTrainingExample(
  input: TrainingRunInput,
  logger: Logger = getLogger(),
): Promise<TrainingRecordOutcome> {
  const { verification } = input.suggestion;
  if (verification.verdict !== "VERIFIED" && verification.verdict !== "FAILED") {
    return { recorded: false, reason: `verdict ${verification.verdict}: only VERIFIED and FAILED runs are recorded` };
  }
  const example: TrainingExample = {
    schema: TRAINING_SCHEMA_VERSION,
    run_id: input.runId,
    recorded_at: new Date().toISOString(),
    verdict: verification.verdict,
    task: input.task,
    messages: input.messages.map((m) => ({ role: m.role, content: m.content })),
    answer: {
      file_path: input.suggestion.file_path,
      suggested_code: input.suggestion.suggested_code,
      explanation: input.suggestion.explanation,
      tests: input.suggestion.tests,
      ...(input.suggestion.changes ? { changes: input.suggestion.changes } : {}),
    },
    verification: {
      summary: verification.summary,
      checks: verification.checks.map((c) => ({ name: c.name, status: c.status })),
    },
    backend: verification.produced_by.backend,
    model: verification.produced_by.model,
    prompt_tokens: input.promptTokens,
    generated_tokens: input.generatedTokens,
  };
  const file = trainingFile(input.workspace, verification.verdict);
  try {
    await appendJsonLine(file, maskSecretsForTraining(example), { workspaceRoot: input.workspace });
    return { recorded: true, file };
  } catch (error) {
    logger.warn({ err: error }, `could not record the run in ${file}; the run itself is unaffected`);
    return { recorded: false, reason: (error as Error).message };
  }
}
