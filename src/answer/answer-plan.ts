import type { BackendCapabilities } from "../backends/descriptors.js";
import { ConfigError, GenerationError } from "../errors/errors.js";
import { answerGrammar, type GrammarBounds, type GrammarFile } from "./answer-grammar.js";
import { AnswerChangesSchema, type AnswerChanges, type AnswerFormat, type EditMode } from "./changes.js";
import { changesJsonSchema } from "./changes-schema.js";
import { parseTextAnswer } from "./text-format.js";

/** The answer format and edit mode a run uses, once `auto` is resolved for the backend. */
export interface AnswerStyle {
  format: "text" | "json";
  edits: "search-replace" | "whole";
  /** Whether the backend constrains the text format with a grammar (else the answer is checked after generation). */
  grammar: boolean;
  /** One line for `verification.notes`. */
  note: string;
}

/** What {@link resolveAnswerStyle} reads of a backend's capabilities. */
export type AnswerCapabilities = Pick<BackendCapabilities, "grammar">;

/**
 * Resolves `answer.format` / `answer.edits` for what the backend can do. `auto`: text under a grammar
 * where the engine applies one (the embedded engine); JSON elsewhere: a backend without a grammar takes
 * only a schema (Ollama), and a grammar sent as a request field is rejected by most servers (vLLM and
 * others reject llama.cpp's `grammar` field; set `text` for llama.cpp's server, which accepts it).
 * `capabilities`: the backend's (`BackendInfo.capabilities`, or `describeBackend(name).capabilities` before it loads).
 */
export function resolveAnswerStyle(
  capabilities: AnswerCapabilities,
  format: AnswerFormat,
  edits: EditMode,
): AnswerStyle {
  const chosen = format === "auto" ? (capabilities.grammar === "engine" ? "text" : "json") : format;
  const grammar = chosen === "text" && capabilities.grammar !== "none";
  const editMode = edits === "auto" ? "search-replace" : edits;
  const how =
    chosen === "json"
      ? "JSON changes under a JSON schema, edits matched after generation"
      : grammar
        ? capabilities.grammar === "request-field"
          ? "text blocks under a GBNF grammar sent as the request's `grammar` field (llama.cpp's server)"
          : "text blocks under a GBNF grammar"
        : "text blocks, checked after generation (Ollama takes no grammar)";
  return { format: chosen, edits: editMode, grammar, note: `answer format: ${chosen} (${how}); edits: ${editMode}` };
}

/** What a generation request carries for the answer: a grammar, a JSON schema, or neither. */
export interface AnswerConstraint {
  grammar?: string;
  schema?: Record<string, unknown>;
}

/** Worst-case characters per body line of a bounded text answer. */
const BOUNDED_LINE_CHARS = 60;
/** Marker, fence and newline bytes around one file's blocks (a token is at least one byte). */
const FILE_OVERHEAD_BYTES = 64;

/**
 * The constraint for one generation. `boundedTokens`: every answer the grammar (or schema) allows fits
 * in that many tokens, for models that never stop: bodies are printable ASCII in bounded lines, each
 * SEARCH is one line that occurs once in the file.
 */
export function answerConstraint(
  style: AnswerStyle,
  files: readonly GrammarFile[],
  boundedTokens: number | undefined,
  newFolders: readonly string[] = [],
): AnswerConstraint {
  if (style.format === "json") {
    // New files in named folders have free paths: the schema cannot list them, so paths are checked after generation.
    return {
      schema: changesJsonSchema({
        paths: newFolders.length > 0 ? [] : files.map((f) => f.path),
        edits: style.edits,
        boundedTokens,
        noChange: files.length === 0 && newFolders.length === 0,
      }),
    };
  }
  if (!style.grammar) return {};
  const bounds = boundedTokens === undefined ? undefined : textBounds(boundedTokens, files, newFolders);
  return {
    grammar: answerGrammar({
      files,
      edits: style.edits,
      bounds,
      newFolders: bounds && files.length > 0 ? [] : newFolders,
    }),
  };
}

function textBounds(tokens: number, files: readonly GrammarFile[], newFolders: readonly string[]): GrammarBounds {
  const longestLine = Math.max(
    0,
    ...files.flatMap((f) => (f.content ?? "").split("\n").map((l) => Buffer.byteLength(l) + 1)),
  );
  // The grammar allows up to one change per file, each naming any file: count the longest path each time.
  // Every task file once, in order; a task that names none has one new file under a free path.
  const freePath =
    files.length === 0 && newFolders.length > 0
      ? Math.max(...newFolders.map((f) => Buffer.byteLength(f) + 1)) + 1 + BOUNDED_LINE_CHARS
      : 0;
  const longestPath = Math.max(freePath, ...files.map((f) => Buffer.byteLength(f.path)));
  const changes = Math.max(1, files.length);
  const fixed = changes * (longestPath + FILE_OVERHEAD_BYTES + longestLine) + 32;
  // Up to six leading '>' , one more character, the bounded rest and the newline.
  const lineTokens = BOUNDED_LINE_CHARS + 8;
  // Each file has one block body; the explanation is one more body.
  const bodyLines = Math.floor((tokens - fixed) / ((changes + 1) * lineTokens));
  if (bodyLines < 1)
    throw new ConfigError(
      `num_predict=${tokens} leaves no room for a bounded answer over ${changes} file(s); raise options.num_predict.`,
      { num_predict: tokens },
    );
  return { bodyLines, lineChars: BOUNDED_LINE_CHARS, blocksPerFile: 1, changes };
}

/** Parses a raw answer in its format; a malformed one fails with GENERATION_FAILED. */
export function parseAnswer(text: string, style: AnswerStyle): AnswerChanges {
  if (style.format === "text") return parseTextAnswer(text);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new GenerationError(
      `The model's answer is not valid JSON (${(error as Error).message}); nothing was produced.`,
      { answer_start: text.slice(0, 200) },
    );
  }
  const parsed = AnswerChangesSchema.safeParse(value);
  if (!parsed.success) {
    throw new GenerationError(
      `The model's answer does not match the changes schema: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}.`,
    );
  }
  // JSON answers carry "" for unused content and [] for unused edits: read them as absent.
  return {
    explanation: parsed.data.explanation,
    changes: parsed.data.changes.map((c) => ({
      path: c.path,
      action: c.action,
      ...(c.edits && c.edits.length > 0 && c.action === "edit" ? { edits: c.edits } : {}),
      ...(c.action !== "delete" && (c.action === "create" || !c.edits || c.edits.length === 0)
        ? { content: c.content ?? "" }
        : {}),
    })),
  };
}
