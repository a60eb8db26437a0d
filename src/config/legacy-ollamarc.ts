import { z } from "zod";
import { ConfigError } from "../errors/errors.js";
import { resolveGpuKeys, type GpuKeysInput } from "./gpu-keys.js";
import { GenerationOptionsSchema, GpuIndexSchema, type GenerationOptions } from "./schema.js";

export { numGpuWarning } from "./gpu-keys.js";

/** What a legacy `.ollamarc` contributes, plus a warning for each key that cannot be honoured as written. */
export interface LegacySettings {
  options: GenerationOptions;
  model?: string;
  host?: string;
  /** The GPU to run on (`gpu`, or a `num_gpu` that is a GPU number: see resolveGpuKeys). */
  gpuIndex?: number;
  warnings: string[];
}

type OptionKey = keyof GenerationOptions;

/** Keys that mean exactly what Builder's option of the same (or mapped) name means. */
const DIRECT: Readonly<Record<string, OptionKey>> = {
  num_ctx: "num_ctx",
  num_batch: "num_batch",
  num_thread: "num_thread",
  num_predict: "num_predict",
  gpu_layers: "gpu_layers",
  n_gpu_layers: "gpu_layers",
  num_gpu: "gpu_layers",
  use_mmap: "use_mmap",
  use_mlock: "use_mlock",
  temperature: "temperature",
  top_p: "top_p",
  top_k: "top_k",
  repeat_penalty: "repeat_penalty",
  seed: "seed",
};

const BOOLEAN_KEYS = new Set<OptionKey>(["use_mmap", "use_mlock"]);

/** Keys people copy from old guides that have no effect, with the reason and what to do instead (`builder doctor` reuses it). */
export const NO_EFFECT: Readonly<Record<string, string>> = {
  f16_kv: "f16_kv has no effect: llama.cpp keeps the KV cache in f16 by default and Ollama removed the option",
  low_vram: "low_vram has no effect: llama.cpp removed it; lower gpu_layers or num_ctx to use less GPU memory",
  main_gpu: "main_gpu is not honoured: choose the GPU with CUDA_VISIBLE_DEVICES (for Ollama, on the server)",
  numa: "numa is not honoured by Builder's embedded engine",
  vocab_only: "vocab_only is not honoured: Builder always loads the whole model",
  num_gqa: "num_gqa has no effect: it is read from the model file",
  rope_frequency_base: "rope_frequency_base is not honoured: it is read from the model file",
  rope_frequency_scale: "rope_frequency_scale is not honoured: it is read from the model file",
  num_keep: "num_keep is not honoured: Builder never shifts the context; it fails instead of truncating",
  mirostat: "mirostat is not honoured: use temperature, top_p and top_k",
  tfs_z: "tfs_z has no effect: llama.cpp removed tail-free sampling",
};

/**
 * Parses a legacy `.ollamarc`: either a JSON object or `key=value` / `key: value` lines (`#` comments).
 * Every option is validated with the same rules as builder.config.json: a bad value is a
 * {@link ConfigError} naming the file and the key, never a silent default.
 */
export function parseOllamarc(text: string, sourceName: string): LegacySettings {
  const entries = parseEntries(text, sourceName);
  const settings: LegacySettings = { options: {}, warnings: [] };
  const gpu: GpuKeysInput = {};
  for (const [rawKey, rawValue] of entries) {
    const key = rawKey.trim().toLowerCase();
    if (key === "model") {
      settings.model = String(rawValue);
      continue;
    }
    if (key === "host" || key === "ollama_host") {
      settings.host = String(rawValue);
      continue;
    }
    if (key === "gpu") {
      // Seed setups write `"gpu": 1` for "GPU number 1"; true/false carry no number.
      if (typeof rawValue === "boolean" || rawValue === "true" || rawValue === "false") {
        settings.warnings.push(
          `${sourceName}: gpu=${String(rawValue)} ignored: Builder uses a GPU whenever llama.cpp finds one (set "gpu": false in builder.config.json for CPU only).`,
        );
        continue;
      }
      gpu.gpuIndex = validated(GpuIndexSchema, rawValue, rawKey, sourceName);
      continue;
    }
    const noEffect = NO_EFFECT[key];
    if (noEffect) {
      settings.warnings.push(`${sourceName}: ${noEffect}.`);
      continue;
    }
    const target = DIRECT[key];
    if (!target) {
      settings.warnings.push(`${sourceName}: unknown key "${rawKey}" ignored.`);
      continue;
    }
    const value: unknown = validated<unknown>(
      GenerationOptionsSchema.shape[target],
      BOOLEAN_KEYS.has(target) ? (toBoolean(rawValue) ?? rawValue) : (toNumber(rawValue) ?? rawValue),
      rawKey,
      sourceName,
    );
    if (key === "num_gpu") gpu.numGpu = value as number;
    else if (target === "gpu_layers") gpu.gpuLayers = value as number;
    else (settings.options as Record<string, number | boolean>)[target] = value as number | boolean;
  }
  const resolved = resolveGpuKeys(gpu, sourceName);
  if (resolved.gpuLayers !== undefined) settings.options.gpu_layers = resolved.gpuLayers;
  if (resolved.gpuIndex !== undefined) settings.gpuIndex = resolved.gpuIndex;
  settings.warnings.push(...resolved.warnings);
  return settings;
}

/** Checks one value against the config's rule for it; the error names the file and the key as written. */
function validated<T>(schema: z.ZodType<T | undefined>, value: unknown, rawKey: string, sourceName: string): T {
  const parsed = schema.safeParse(value);
  // The options are optional in the config; a key written in the file must hold a value.
  if (parsed.success && parsed.data !== undefined) return parsed.data;
  const problem = parsed.success ? "no value" : parsed.error.issues.map((issue) => issue.message).join("; ");
  throw new ConfigError(
    `${sourceName}: "${rawKey}" is ${JSON.stringify(value)}: ${problem}. Fix or remove the key in ${sourceName}.`,
    { path: sourceName, key: rawKey, value },
  );
}

function parseEntries(text: string, sourceName: string): Array<[string, unknown]> {
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) return Object.entries(parsed);
    } catch {
      // fall through to the error below
    }
    throw new SyntaxError(`${sourceName} looks like JSON but does not parse as a JSON object`);
  }
  const entries: Array<[string, unknown]> = [];
  for (const line of trimmed.split(/\r?\n/)) {
    const content = line.replace(/#.*$/, "").trim();
    if (!content) continue;
    const match = /^([A-Za-z_][\w.-]*)\s*[=:\s]\s*(.*)$/.exec(content);
    if (!match) throw new SyntaxError(`${sourceName}: cannot read line "${line.trim()}" (expected key=value)`);
    entries.push([match[1], match[2].replace(/^["']|["']$/g, "")]);
  }
  return entries;
}

function toNumber(value: unknown): number | undefined {
  const number =
    typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(number) ? number : undefined;
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  const text = String(value).trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off"].includes(text)) return false;
  return undefined;
}
