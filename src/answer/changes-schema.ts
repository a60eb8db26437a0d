import { ConfigError } from "../errors/errors.js";

/** Tokens kept for the JSON around the strings: braces, keys, quotes, commas and bounded whitespace, per change. */
const STRUCTURE_TOKENS_PER_CHANGE = 48;
/** The most tokens one character of a JSON string can take (an escape like `\u00e9`, one token per character). */
const WORST_CASE_TOKENS_PER_CHAR = 6;
/** Edits per file a bounded JSON answer may hold. */
const BOUNDED_EDITS_PER_FILE = 1;
/** The shortest string bound worth generating. */
const MIN_STRING_CHARS = 16;

/** Options for {@link changesJsonSchema}. */
export interface ChangesSchemaOptions {
  /** The paths the answer may name (the task's files). */
  paths: readonly string[];
  /** `whole`: the schema still has edits, but the prompt asks for whole contents. */
  edits: "search-replace" | "whole";
  /** With a token budget, every string and array is bounded so any answer completes within it. */
  boundedTokens?: number;
  /** No change is allowed (the task names no file): `changes` must be empty, the explanation is the answer. */
  noChange?: boolean;
}

/**
 * The JSON schema of an answer for backends that take only a schema (Ollama's `format`, OpenAI's
 * `response_format`): a list of changes over the task's files and an explanation. Every property is
 * required (OpenAI's strict mode wants that): `edits` is empty and `content` "" where unused.
 */
export function changesJsonSchema(options: ChangesSchemaOptions): Record<string, unknown> {
  const limits =
    options.boundedTokens === undefined
      ? undefined
      : boundedLimits(options.boundedTokens, options.paths, options.noChange === true);
  const max = limits?.chars;
  const str = (description: string): Record<string, unknown> => ({
    type: "string",
    description,
    ...(max !== undefined ? { maxLength: max } : {}),
  });
  const path =
    options.paths.length > 0
      ? { type: "string", enum: [...options.paths] }
      : { type: "string", ...(max !== undefined ? { maxLength: 255 } : {}) };
  return {
    type: "object",
    properties: {
      changes: {
        type: "array",
        ...(options.noChange ? { maxItems: 0 } : { minItems: 1 }),
        ...(limits !== undefined && !options.noChange ? { maxItems: limits.changes } : {}),
        items: {
          type: "object",
          properties: {
            path,
            // A bounded answer deletes nothing (its worst case is a change of every file); `whole` writes contents, never edits.
            action: { type: "string", enum: limits ? ["edit", "create"] : ["edit", "create", "delete"] },
            edits: {
              type: "array",
              ...(options.edits === "whole"
                ? { maxItems: 0 }
                : max !== undefined
                  ? { maxItems: BOUNDED_EDITS_PER_FILE }
                  : {}),
              items: {
                type: "object",
                properties: {
                  search: str("whole lines of the current file, quoted exactly"),
                  replace: str("the lines that replace them"),
                },
                required: ["search", "replace"],
                additionalProperties: false,
              },
            },
            content: str('the whole content of a new file ("" for edits and deletions)'),
          },
          required: ["path", "action", "edits", "content"],
          additionalProperties: false,
        },
      },
      explanation: str("what changed and why"),
    },
    required: ["changes", "explanation"],
    additionalProperties: false,
  };
}

/**
 * The bounds of a bounded JSON answer: as many changes as there are files if the strings stay useful
 * (at least 16 characters each), else fewer, so that the largest answer the schema allows fits `tokens`.
 */
function boundedLimits(
  tokens: number,
  paths: readonly string[],
  noChange: boolean,
): { changes: number; chars: number } {
  // The explanation alone: one string.
  if (noChange) {
    const chars = Math.floor((tokens - STRUCTURE_TOKENS_PER_CHANGE) / WORST_CASE_TOKENS_PER_CHAR);
    if (chars >= MIN_STRING_CHARS) return { changes: 0, chars };
  }
  const longestPath = paths.length > 0 ? Math.max(...paths.map((p) => p.length)) : 255;
  for (let changes = Math.max(1, paths.length); changes >= 1; changes--) {
    const strings = changes * (BOUNDED_EDITS_PER_FILE * 2 + 1) + 1;
    const free =
      tokens - STRUCTURE_TOKENS_PER_CHANGE * (changes + 1) - changes * longestPath * WORST_CASE_TOKENS_PER_CHAR;
    const chars = Math.floor(free / strings / WORST_CASE_TOKENS_PER_CHAR);
    if (chars >= MIN_STRING_CHARS) return { changes, chars };
  }
  throw new ConfigError(
    `num_predict=${tokens} leaves no room for a bounded answer. Raise options.num_predict (2048 or more is usual), or set bounded_answer to false.`,
    { num_predict: tokens },
  );
}
