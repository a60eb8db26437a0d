import { createHash } from "node:crypto";
import { stat } from "node:fs/promises";
import path from "node:path";
import { GgufFileType, type GgufFileInfo } from "node-llama-cpp";
import type { EmbeddedEngine } from "../backends/embedded/engine.js";
import { longestTokenBytes } from "../backends/embedded/vocabulary.js";

/** Ollama's `details` of a model. */
export interface ModelDetails {
  parent_model: string;
  format: "gguf";
  family: string;
  families: string[];
  parameter_size: string;
  quantization_level: string;
}

/** What `/api/tags`, `/api/show` and `/api/ps` say about the served model. */
export interface ModelFacts {
  /** The name clients use, with its tag ("tiny:latest"). */
  name: string;
  modelPath: string;
  /** File size in bytes. */
  fileBytes: number;
  modifiedAt: Date;
  /**
   * Identifies this file version (path, size and modification time hashed): hashing the content of a
   * multi-gigabyte model at every start would take minutes.
   */
  digest: string;
  details: ModelDetails;
  /** GGUF metadata as flat dotted keys; arrays longer than 5 only when verbose, as Ollama does (they hold the whole vocabulary). */
  modelInfo(verbose: boolean): Record<string, unknown>;
  /** The GGUF chat template (Jinja), if the file has one. */
  template: string;
  /** The context window every sequence of the server has. */
  contextSize: number;
  trainContextSize: number;
  /** Whether llama.cpp computes on a GPU. */
  gpu: boolean;
  /** The longest token piece in bytes: a prompt of B bytes is at least B ÷ this many tokens. */
  longestTokenBytes: number;
}

/** Reads the served model's facts from the loaded engine and the file. */
export async function readModelFacts(engine: EmbeddedEngine, name: string): Promise<ModelFacts> {
  const file = await stat(engine.modelPath);
  const info = engine.model.fileInfo;
  const metadata = info.metadata as unknown as Record<string, unknown>;
  const general = (metadata.general ?? {}) as Record<string, unknown>;
  const family = typeof general.architecture === "string" ? general.architecture : "unknown";
  const tokenizer = (metadata.tokenizer ?? {}) as Record<string, unknown>;
  return {
    name,
    modelPath: engine.modelPath,
    fileBytes: file.size,
    modifiedAt: file.mtime,
    digest: createHash("sha256")
      .update(`${path.resolve(engine.modelPath)}:${file.size}:${file.mtimeMs}`)
      .digest("hex"),
    details: {
      parent_model: "",
      format: "gguf",
      family,
      families: [family],
      parameter_size: humanCount(parameterCount(info)),
      quantization_level: quantizationName(general.file_type),
    },
    modelInfo: (verbose) => flatten(metadata, verbose),
    template: typeof tokenizer.chat_template === "string" ? tokenizer.chat_template : "",
    contextSize: engine.contextSize,
    trainContextSize: engine.model.trainContextSize,
    gpu: engine.llama.gpu !== false,
    longestTokenBytes: longestTokenBytes(engine.model),
  };
}

/** The default name for a GGUF file: its base name as an Ollama model name with the `latest` tag. */
export function defaultModelName(modelPath: string): string {
  const base = path
    .basename(modelPath)
    .replace(/\.gguf$/i, "")
    .toLowerCase();
  return normaliseModelName(base.replace(/[^a-z0-9._-]+/g, "-"));
}

/**
 * Ollama's name rule: a name without a tag means the `latest` tag. The case is kept as given
 * (`qwen2.5-coder:32b-instruct-q5_K_M` is what clients ask for); matching ignores it (see ModelHost.matches).
 */
export function normaliseModelName(name: string): string {
  const trimmed = name.trim();
  const lastSegment = trimmed.split("/").pop() ?? trimmed;
  return lastSegment.includes(":") ? trimmed : `${trimmed}:latest`;
}

function parameterCount(info: GgufFileInfo): number {
  let total = 0;
  for (const tensor of info.fullTensorInfo ?? info.tensorInfo ?? []) {
    total += tensor.dimensions.reduce<number>((product, dimension) => product * Number(dimension), 1);
  }
  return total;
}

function humanCount(count: number): string {
  if (count >= 1e9) return `${(count / 1e9).toFixed(1)}B`;
  if (count >= 1e6) return `${Math.round(count / 1e6)}M`;
  if (count >= 1e3) return `${Math.round(count / 1e3)}K`;
  return String(count);
}

function quantizationName(fileType: unknown): string {
  if (typeof fileType !== "number") return "unknown";
  const name = (GgufFileType as unknown as Record<number, string | undefined>)[fileType];
  return name ? name.replace(/^MOSTLY_|^ALL_/, "") : "unknown";
}

/** Ollama's non-verbose /api/show blanks arrays longer than this (the vocabulary, per-layer values). */
const OLLAMA_BRIEF_ARRAY_MAX = 5;

function flatten(
  value: Record<string, unknown>,
  verbose: boolean,
  prefix = "",
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [key, entry] of Object.entries(value)) {
    const dotted = prefix ? `${prefix}.${key}` : key;
    if (dotted === "tokenizer.chat_template") continue;
    if (Array.isArray(entry))
      out[dotted] = verbose || entry.length <= OLLAMA_BRIEF_ARRAY_MAX ? entry.map(toJsonValue) : [];
    else if (entry !== null && typeof entry === "object")
      flatten(entry as Record<string, unknown>, verbose, dotted, out);
    else out[dotted] = toJsonValue(entry);
  }
  return out;
}

function toJsonValue(value: unknown): unknown {
  return typeof value === "bigint" ? Number(value) : value;
}
