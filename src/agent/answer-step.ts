import type { Logger } from "pino";
import type { Backend, BackendInfo, ChatMessage, GenerateRequest, GenerateResult } from "../backends/types.js";
import type { GenerationOptions } from "../config/schema.js";
import { GenerationError, GenerationTruncatedError } from "../errors/errors.js";
import { answerConstraint, parseAnswer, type AnswerStyle } from "../answer/answer-plan.js";
import type { GrammarFile } from "../answer/answer-grammar.js";
import type { ResolvedChange } from "../answer/changes.js";
import { resolveChanges, shownPath, type AllowedFiles } from "../answer/resolve-changes.js";
import type { ModelAnswer } from "../task/schema.js";
import type { VerificationReport } from "../verify/verify.js";
import { isTestFile } from "../workspace/test-placement.js";
import { planAnswerBudget } from "./budget.js";
import type { Attempt, GeneratedAnswer } from "./repair.js";

/** What one generation needs: the backend, the answer's style and allowed files, sampling settings. */
export interface AnswerStepInput {
  backend: Backend;
  info: BackendInfo;
  /** The configured generation options (`num_predict`, sampling). */
  generation: GenerationOptions;
  /** Whether answer string lengths are bounded by the token budget (`--bounded-answer`). */
  boundedAnswer: boolean;
  style: AnswerStyle;
  allowed: AllowedFiles;
  /** Folders where the answer may create files not named in the task. */
  newFileFolders: readonly string[];
  logger: Logger;
  /**
   * Judges a path the answer writes against the workspace (deny list, `.git`, links out of it): the
   * reason it cannot be written, or undefined. A refused path is the model's mistake: a repair round.
   */
  refusePath?: (path: string) => Promise<string | undefined>;
  signal?: AbortSignal;
  onTextChunk?: (text: string) => void;
  onRestart?: (reason: string) => void;
}

/** Sees each round's prompt count (before the budget can fail) and raw result, so usage sums over all rounds. */
export interface UsageObserver {
  promptCounted(tokens: number): void;
  generated(result: GenerateResult): void;
}

/**
 * One constrained generation, parsed and resolved against the files as read: fails on a truncated,
 * cancelled or malformed answer; an answer whose edits do not apply comes back with `problems` (a
 * repair round sends them to the model).
 */
export async function generateAnswer(
  input: AnswerStepInput,
  messages: ChatMessage[],
  observe: UsageObserver,
  repairOf?: Attempt,
): Promise<GeneratedAnswer> {
  const { backend, generation, style } = input;
  const count = await backend.countPromptTokens(messages);
  observe.promptCounted(count.tokens);
  const maxTokens = planAnswerBudget({
    promptTokens: count.tokens,
    contextSize: input.info.contextSize,
    numPredict: generation.num_predict,
    exact: count.exact,
  });
  const files: GrammarFile[] = [...input.allowed.files].map(([path, content]) => {
    const shownLines = input.allowed.shown?.get(path);
    return shownLines ? { path, content, shownLines } : { path, content };
  });
  const constraint = answerConstraint(style, files, input.boundedAnswer ? maxTokens : undefined, input.newFileFolders);
  input.logger.debug(
    {
      prompt_tokens: count.tokens,
      max_tokens: maxTokens,
      format: style.format,
      grammar_bytes: constraint.grammar?.length,
      repair_of_round: repairOf?.round,
    },
    "generating",
  );
  const result = await backend.generate({
    messages,
    ...constraint,
    sampling: samplingFor(generation, maxTokens),
    signal: input.signal,
    onTextChunk: input.onTextChunk,
    onRestart: input.onRestart,
  });
  observe.generated(result);
  refuseIncomplete(result, maxTokens);
  const generated = resolveAnswer(result, input);
  return generated.problems.length > 0 ? generated : withRefusedPaths(generated, input);
}

function samplingFor(options: GenerationOptions, maxTokens: number): GenerateRequest["sampling"] {
  return {
    maxTokens,
    temperature: options.temperature ?? 0.2,
    topP: options.top_p,
    topK: options.top_k,
    repeatPenalty: options.repeat_penalty,
    seed: options.seed,
  };
}

/** An answer cut at the token limit or by cancelling is never used: it fails the round. */
function refuseIncomplete(result: GenerateResult, maxTokens: number): void {
  if (result.stopReason === "length") {
    throw new GenerationTruncatedError(
      `Generation stopped at the token limit (num_predict=${maxTokens}) before the answer was complete. ` +
        `Raise options.num_predict (and num_ctx to hold it), or ask for a smaller change. A model that never stops by itself (a random test model) needs --bounded-answer.`,
      { num_predict: maxTokens, generated_tokens: result.metrics.generatedTokens },
    );
  }
  if (result.stopReason === "abort")
    throw new GenerationError("Generation was cancelled before the answer was complete.");
}

/** Parses the answer and resolves its changes against the files as read; changes that do not apply come back as problems. */
function resolveAnswer(result: GenerateResult, input: AnswerStepInput): GeneratedAnswer {
  const parsed = parseAnswer(result.text, input.style);
  const resolution = resolveChanges(parsed, input.allowed);
  if (!resolution.ok)
    return {
      answer: unappliedAnswer(parsed.explanation, input.allowed),
      generation: result,
      cutFields: [],
      problems: resolution.problems,
    };
  return {
    answer: answerFromChanges(resolution.changes, parsed.explanation),
    generation: result,
    cutFields: resolution.notes,
    problems: [],
  };
}

/** The answer with a problem for each path the workspace refuses to write (an answer that writes one is never used). */
async function withRefusedPaths(generated: GeneratedAnswer, input: AnswerStepInput): Promise<GeneratedAnswer> {
  const refuse = input.refusePath;
  if (!refuse) return generated;
  const paths = (generated.answer.changes ?? []).map((c) => c.path);
  const reasons = await Promise.all(paths.map(async (p) => ({ p, why: await refuse(p) })));
  const problems = reasons.flatMap(({ p, why }) => (why === undefined ? [] : [`${shownPath(p)}: ${why}`]));
  if (problems.length === 0) return generated;
  return {
    ...generated,
    answer: unappliedAnswer(generated.answer.explanation, input.allowed),
    cutFields: [],
    problems,
  };
}

/**
 * The output protocol's view of resolved changes: the primary file (the first non-test change) with
 * its complete new content, the test file's content, and every change.
 */
export function answerFromChanges(changes: readonly ResolvedChange[], explanation: string): ModelAnswer {
  // An explanation alone (a task that names no file): no primary file.
  if (changes.length === 0) return { file_path: "", suggested_code: "", explanation, tests: "", changes: [] };
  const primary = changes.find((c) => !isTestFile(c.path)) ?? (changes[0] as ResolvedChange);
  const test = changes.find((c) => c !== primary && isTestFile(c.path) && c.after !== null);
  return {
    file_path: primary.path,
    suggested_code: primary.after ?? "",
    explanation,
    tests: test?.after ?? "",
    changes: changes.map((c) => ({ path: c.path, action: c.action, edits: c.edits, content: c.after })),
  };
}

/** An answer whose edits did not apply: it changes nothing (FAILED, never written). */
function unappliedAnswer(explanation: string, allowed: AllowedFiles): ModelAnswer {
  const [first] = [...allowed.files];
  return { file_path: first?.[0] ?? "", suggested_code: first?.[1] ?? "", explanation, tests: "", changes: [] };
}

/** The report of an answer whose edits do not apply: a failed `edits` check the repair round shows the model. */
export function editProblemsReport(problems: readonly string[]): VerificationReport {
  return {
    verdict: "FAILED",
    checks: [
      {
        name: "edits",
        status: "failed",
        durationMs: 0,
        diagnostics: [...problems],
        summary: `${problems.length} change(s) do not apply to the files as Builder read them`,
        notes: [],
      },
    ],
    notes: [],
    durationMs: 0,
  };
}
