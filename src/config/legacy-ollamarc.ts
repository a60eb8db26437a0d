import type { GenerationOptions } from "./schema.js";

/** What a legacy `.ollamarc` contributes, plus a warning for each key that cannot be honoured as written. */
export interface LegacySettings {
  options: GenerationOptions;
  model?: string;
  host?: string;
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
 */
export function parseOllamarc(text: string, sourceName: string): LegacySettings {
  const entries = parseEntries(text, sourceName);
  const settings: LegacySettings = { options: {}, warnings: [] };
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
    const value = BOOLEAN_KEYS.has(target) ? toBoolean(rawValue) : toNumber(rawValue);
    if (value === undefined) {
      settings.warnings.push(`${sourceName}: "${rawKey}" has value ${JSON.stringify(rawValue)}, which is not a valid ${BOOLEAN_KEYS.has(target) ? "boolean" : "number"}; ignored.`);
      continue;
    }
    if (key === "num_gpu" && typeof value === "number") {
      const warning = numGpuWarning(sourceName, value);
      if (warning) settings.warnings.push(warning);
    }
    (settings.options as Record<string, number | boolean>)[target] = value;
  }
  return settings;
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
  const number = typeof value === "number" ? value : typeof value === "string" && value.trim() !== "" ? Number(value) : NaN;
  return Number.isFinite(number) ? number : undefined;
}

function toBoolean(value: unknown): boolean | undefined {
  if (typeof value === "boolean") return value;
  const text = String(value).trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(text)) return true;
  if (["false", "0", "no", "off"].includes(text)) return false;
  return undefined;
}

/**
 * Ollama's `num_gpu` counts layers offloaded to the GPU; old guides use it as a GPU index. A small value
 * most likely means "GPU n", so it gets a warning that explains both meanings.
 */
export function numGpuWarning(sourceName: string, value: number): string | undefined {
  if (value > 8) return undefined;
  return (
    `${sourceName}: num_gpu=${value} is read as ${value} layer(s) offloaded to the GPU, not as GPU number ${value}. ` +
    `To pick a GPU, set CUDA_VISIBLE_DEVICES (for Ollama, on the server); to offload the whole model, set gpu_layers to its layer count or leave it unset.`
  );
}
