import { ConfigError } from "../errors/errors.js";
import type { BuilderTask } from "./schema.js";

/** The JSON schema subset every backend understands (llama.cpp grammar, Ollama `format`, OpenAI `response_format`). */
export interface AnswerJsonSchema {
  type: "object";
  properties: Record<"file_path" | "suggested_code" | "explanation" | "tests", StringSchema>;
  required: Array<"file_path" | "suggested_code" | "explanation" | "tests">;
  additionalProperties: false;
}

interface StringSchema {
  type: "string";
  maxLength?: number;
  enum?: string[];
  description?: string;
}

/**
 * The most tokens one character of a JSON string can take: an escape like `\u00e9` is six
 * characters, and every tokenizer with byte fallback can spell each of them as its own token.
 */
export const WORST_CASE_TOKENS_PER_CHAR = 6;

/** Tokens kept for the JSON around the strings: braces, keys, quotes, commas and bounded whitespace. */
export const STRUCTURE_TOKENS = 96;

/** How the string budget is shared between the free-text fields. */
const SHARES = { suggested_code: 0.55, tests: 0.3, explanation: 0.15 } as const;

/** The character bounds chosen for a token budget. */
export interface AnswerBounds {
  file_path: number;
  suggested_code: number;
  tests: number;
  explanation: number;
}

/**
 * Derives string bounds from the token budget so that any answer the grammar allows, even one from a
 * model that never chooses to stop, is complete within `numPredict` tokens.
 */
export function answerBounds(numPredict: number, filePathChoices: readonly string[]): AnswerBounds {
  const bounds = boundsFor(numPredict, filePathChoices);
  if (!roomy(bounds, filePathChoices)) {
    const needed = smallestRoomyBudget(numPredict, filePathChoices);
    throw new ConfigError(
      `num_predict=${numPredict} leaves no room for an answer. Set options.num_predict to at least ${needed} (2048 or more is usual).`,
      { num_predict: numPredict, needed },
    );
  }
  return bounds;
}

const MIN_FIELD_CHARS = 16;

function boundsFor(numPredict: number, filePathChoices: readonly string[]): AnswerBounds {
  const filePathTokens =
    filePathChoices.length > 0 ? Math.max(...filePathChoices.map((f) => f.length)) * WORST_CASE_TOKENS_PER_CHAR : 0;
  const free = numPredict - STRUCTURE_TOKENS - filePathTokens;
  const filePathFree =
    filePathChoices.length > 0 ? 0 : Math.min(255, Math.floor((free * 0.05) / WORST_CASE_TOKENS_PER_CHAR));
  const rest = free - filePathFree * WORST_CASE_TOKENS_PER_CHAR;
  return {
    file_path: filePathFree,
    suggested_code: Math.floor((rest * SHARES.suggested_code) / WORST_CASE_TOKENS_PER_CHAR),
    tests: Math.floor((rest * SHARES.tests) / WORST_CASE_TOKENS_PER_CHAR),
    explanation: Math.floor((rest * SHARES.explanation) / WORST_CASE_TOKENS_PER_CHAR),
  };
}

function roomy(bounds: AnswerBounds, filePathChoices: readonly string[]): boolean {
  return (
    bounds.suggested_code >= MIN_FIELD_CHARS &&
    bounds.explanation >= MIN_FIELD_CHARS &&
    (filePathChoices.length > 0 || bounds.file_path >= MIN_FIELD_CHARS)
  );
}

/** The smallest budget whose bounds are roomy (bounds grow with the budget, so a binary search finds it). */
function smallestRoomyBudget(from: number, filePathChoices: readonly string[]): number {
  let low = Math.max(1, from);
  let high = Math.max(low * 2, 4096);
  while (!roomy(boundsFor(high, filePathChoices), filePathChoices)) high *= 2;
  while (low < high) {
    const mid = Math.floor((low + high) / 2);
    if (roomy(boundsFor(mid, filePathChoices), filePathChoices)) high = mid;
    else low = mid + 1;
  }
  return low;
}

/**
 * The schema the model's answer must follow; with `bounded`, string lengths come from {@link answerBounds}. When the task names its files, `file_path` must be one
 * of them: the model edits what it was asked to edit, and the field costs almost no tokens.
 */
export function answerJsonSchema(task: BuilderTask, numPredict: number, bounded = true): AnswerJsonSchema {
  const choices = task.files;
  const bounds = bounded
    ? answerBounds(numPredict, choices)
    : { file_path: undefined, suggested_code: undefined, tests: undefined, explanation: undefined };
  return {
    type: "object",
    properties: {
      file_path:
        choices.length > 0
          ? { type: "string", enum: [...choices], description: "the file to create or replace" }
          : {
              type: "string",
              maxLength: bounds.file_path,
              description: "workspace-relative path of the file to create or replace",
            },
      suggested_code: {
        type: "string",
        maxLength: bounds.suggested_code,
        description: "the complete new content of file_path",
      },
      explanation: { type: "string", maxLength: bounds.explanation, description: "what changed and why" },
      tests: { type: "string", maxLength: bounds.tests, description: "test code for the change" },
    },
    required: ["file_path", "suggested_code", "explanation", "tests"],
    additionalProperties: false,
  };
}

/** Names the fields whose value used its whole bound: the model may have been cut off there. */
export function fieldsAtBound(answer: Record<string, string>, schema: AnswerJsonSchema): string[] {
  return Object.entries(schema.properties)
    .filter(([key, field]) => field.maxLength !== undefined && [...(answer[key] ?? "")].length >= field.maxLength)
    .map(([key]) => key);
}
