import { stat } from "node:fs/promises";
import { GgmlType, GgufFileType, readGgufFileInfo } from "node-llama-cpp";
import { ModelError } from "../errors/errors.js";
import { assertGgufHeaderBounded } from "./gguf-header-check.js";
import type { ModelShape } from "./memory-estimate.js";

/** A model's shape plus what a listing shows about it. */
export interface ModelFacts extends ModelShape {
  architecture: string;
  /** `general.name`, when the file has one. */
  name?: string;
  /** "Q4_K_M", "F16", …; from `general.file_type`, else the most common tensor type. */
  quantization?: string;
  parameterCount?: number;
}

/** Big arrays in the header that Builder never needs (reading them is most of the parse time). */
const IGNORED_KEYS = [
  "tokenizer.ggml.tokens",
  "tokenizer.ggml.token_type",
  "tokenizer.ggml.merges",
  "tokenizer.ggml.scores",
];

/** Reads a GGUF file's header (not its weights) and returns the facts memory estimates need. */
export async function readGgufFacts(filePath: string): Promise<ModelFacts> {
  // node-llama-cpp's reader trusts the header's counts: an impossible one would keep it reading for ever.
  await assertGgufHeaderBounded(filePath);
  let info;
  try {
    info = await readGgufFileInfo(filePath, { sourceType: "filesystem", logWarnings: false, ignoreKeys: IGNORED_KEYS });
  } catch (error) {
    throw new ModelError(
      "MODEL_LOAD_FAILED",
      `Cannot read the GGUF header of ${filePath} (${(error as Error).message}). Is it a complete .gguf file?`,
      {
        path: filePath,
      },
    );
  }
  const metadata = info.metadata as unknown as Record<string, unknown>;
  const general = (metadata.general ?? {}) as Record<string, unknown>;
  const architecture = String(general.architecture ?? "unknown");
  const arch = (metadata[architecture] ?? {}) as Record<string, unknown>;
  const lookup = (key: string): unknown => at(arch, key);
  const tensorTypes = (info.fullTensorInfo ?? info.tensorInfo ?? []).map((tensor) => ({
    type: tensor.ggmlType,
    elements: tensor.dimensions.reduce<number>((product, d) => product * Number(d), 1),
  }));
  const shape = shapeFrom(lookup, await totalSize(filePath, info.splicedParts));
  if (!shape) {
    throw new ModelError(
      "MODEL_LOAD_FAILED",
      `${filePath} has no ${architecture}.block_count / attention.head_count in its header; Builder cannot estimate its memory.`,
      {
        path: filePath,
      },
    );
  }
  return {
    ...shape,
    architecture,
    name: typeof general.name === "string" ? general.name : undefined,
    quantization: fileTypeName(toNumber(general.file_type)) ?? dominantTensorType(tensorTypes),
    parameterCount: tensorTypes.length > 0 ? tensorTypes.reduce((sum, t) => sum + t.elements, 0) : undefined,
  };
}

/**
 * Facts from Ollama's `/api/show` `model_info` (flat keys such as `llama.block_count`), with the
 * weights size taken from `/api/tags`.
 */
export function factsFromOllamaModelInfo(
  modelInfo: Record<string, unknown>,
  weightsBytes: number,
  quantization?: string,
): ModelFacts | undefined {
  const architecture = String(modelInfo["general.architecture"] ?? "");
  if (!architecture) return undefined;
  const shape = shapeFrom((key) => modelInfo[`${architecture}.${key}`], weightsBytes);
  if (!shape) return undefined;
  return {
    ...shape,
    architecture,
    quantization: quantization ?? fileTypeName(toNumber(modelInfo["general.file_type"])),
    parameterCount: toNumber(modelInfo["general.parameter_count"]),
  };
}

function shapeFrom(lookup: (key: string) => unknown, weightsBytes: number): ModelShape | undefined {
  const layers = toNumber(lookup("block_count"));
  const headsValue = lookup("attention.head_count");
  const heads = toNumber(Array.isArray(headsValue) ? headsValue.find((h) => toNumber(h)) : headsValue);
  if (!layers || !heads) return undefined;
  const kvValue = lookup("attention.head_count_kv");
  // An empty per-layer array is one Ollama blanked (non-verbose /api/show): unknown, not "no cache".
  if (Array.isArray(kvValue) && kvValue.length === 0) return undefined;
  const kvHeads = Array.isArray(kvValue) ? kvValue.map((h) => toNumber(h) ?? 0) : (toNumber(kvValue) ?? heads);
  const embedding = toNumber(lookup("embedding_length"));
  const keyLength = toNumber(lookup("attention.key_length")) ?? (embedding ? embedding / heads : undefined);
  if (!keyLength) return undefined;
  const valueLength = toNumber(lookup("attention.value_length")) ?? keyLength;
  return { layers, kvHeads, keyLength, valueLength, weightsBytes, contextLength: toNumber(lookup("context_length")) };
}

/** Walks a nested metadata object by a dotted key ("attention.head_count_kv"). */
function at(object: Record<string, unknown>, dotted: string): unknown {
  let value: unknown = object;
  for (const part of dotted.split(".")) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function toNumber(value: unknown): number | undefined {
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "bigint") return Number(value);
  return undefined;
}

/** GgufFileType.MOSTLY_Q4_K_M → "Q4_K_M", ALL_F32 → "F32". */
export function fileTypeName(fileType: number | undefined): string | undefined {
  if (fileType === undefined) return undefined;
  const name = (GgufFileType as unknown as Record<number, string | undefined>)[fileType];
  return name?.replace(/^(MOSTLY|ALL)_/, "");
}

function dominantTensorType(tensors: ReadonlyArray<{ type: number; elements: number }>): string | undefined {
  const totals = new Map<number, number>();
  for (const tensor of tensors) totals.set(tensor.type, (totals.get(tensor.type) ?? 0) + tensor.elements);
  let best: number | undefined;
  for (const [type, elements] of totals) if (best === undefined || elements > (totals.get(best) ?? 0)) best = type;
  if (best === undefined) return undefined;
  return (GgmlType as unknown as Record<number, string | undefined>)[best];
}

/** The file's size; for split models ("-00001-of-00003.gguf") the parts' sizes added up. */
async function totalSize(filePath: string, parts: number): Promise<number> {
  const match = /-(\d{5})-of-(\d{5})\.gguf$/i.exec(filePath);
  if (parts <= 1 || !match) return (await stat(filePath)).size;
  let total = 0;
  for (let part = 1; part <= parts; part += 1) {
    total += (await stat(filePath.replace(/-\d{5}-of-(\d{5})\.gguf$/i, `-${String(part).padStart(5, "0")}-of-$1.gguf`)))
      .size;
  }
  return total;
}
