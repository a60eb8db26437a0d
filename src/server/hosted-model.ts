import path from "node:path";
import type { GenerationOptions } from "../config/schema.js";
import { normaliseModelName, type ModelFacts } from "./model-facts.js";

/**
 * How a model is loaded, beside the file: the window per sequence and llama.cpp's load options. A
 * field left undefined is llama.cpp's or Builder's default (num_ctx: the model's trained window up to
 * Builder's default; threads: measured).
 */
export interface LoadSettings {
  numCtx?: number;
  numBatch?: number;
  numThread?: number;
  gpuLayers?: number;
  useMmap?: boolean;
  useMlock?: boolean;
}

/** The load settings a configuration's `options` name. */
export function loadSettingsFrom(options: GenerationOptions): LoadSettings {
  return dropUndefined({
    numCtx: options.num_ctx,
    numBatch: options.num_batch,
    numThread: options.num_thread,
    gpuLayers: options.gpu_layers,
    useMmap: options.use_mmap,
    useMlock: options.use_mlock,
  });
}

/** The engine `options` for these load settings (what EmbeddedEngine.load takes). */
export function optionsFrom(settings: LoadSettings): GenerationOptions {
  return dropUndefined({
    num_ctx: settings.numCtx,
    num_batch: settings.numBatch,
    num_thread: settings.numThread,
    gpu_layers: settings.gpuLayers,
    use_mmap: settings.useMmap,
    use_mlock: settings.useMlock,
  });
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * A model the host knows: its GGUF file, the name clients use, the settings it loads with unless a
 * request names others, and (once it has been loaded) its facts for `/api/tags` and `/api/show`.
 */
export class HostedModel {
  facts: ModelFacts | undefined;

  constructor(
    readonly modelPath: string,
    public name: string,
    readonly defaults: LoadSettings,
  ) {}

  /** Whether `requested` names this model: its name ("tiny" and "tiny:latest"; case ignored, as Ollama), or its file's absolute path. */
  matches(requested: string): boolean {
    if (path.isAbsolute(requested)) return path.resolve(requested) === this.modelPath;
    return normaliseModelName(requested).toLowerCase() === this.name.toLowerCase();
  }
}
