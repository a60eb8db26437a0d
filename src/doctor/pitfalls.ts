import { describeBackend } from "../backends/descriptors.js";
import { GPU_INDEX_LIKE, resolveGpuKeys } from "../config/gpu-keys.js";
import { NO_EFFECT } from "../config/legacy-ollamarc.js";
import { MIN_AUTO_NUM_PREDICT } from "../window-size/policy.js";
import type { BackendName, GenerationOptions } from "../config/schema.js";
import type { CoreCount } from "../system/cpu-cores.js";
import type { DoctorCheck } from "./types.js";

/** A prompt-size figure and where it came from. */
export interface TypicalPrompt {
  tokens: number;
  /** "metrics" (p95 of recorded runs) or "estimate" (knowledge files' size). */
  source: "metrics" | "estimate";
}

/** What {@link findConfigPitfalls} looks at; everything is passed in so it can be tested on sample configs. */
export interface PitfallInput {
  backend: BackendName;
  /** `options` exactly as written in builder.config.json (before validation), if any. */
  rawOptions: Record<string, unknown>;
  /** The effective options after every source was merged. */
  options: GenerationOptions;
  /** Warnings the config loader already produced (legacy `.ollamarc` keys…); shown, not re-derived. */
  configWarnings: readonly string[];
  /** The model's layer count and trained context, when its metadata could be read. */
  model?: { layers: number; contextLength?: number };
  cores: CoreCount;
  /** Whether a GPU was detected (partial offload only matters with one). */
  gpuFound: boolean;
  typicalPrompt?: TypicalPrompt;
  env: NodeJS.ProcessEnv;
}

/** The answer room Builder plans for when num_predict is unset. */
const MIN_ANSWER_TOKENS = MIN_AUTO_NUM_PREDICT;

/**
 * Settings that look right but do something else, or nothing: each finding says what the setting
 * really does and what to write instead.
 */
export function findConfigPitfalls(input: PitfallInput): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  checks.push(...numGpuPitfalls(input));
  checks.push(...noEffectPitfalls(input));
  const offload = partialOffload(input);
  if (offload) checks.push(offload);
  const threads = threadPitfall(input);
  if (threads) checks.push(threads);
  checks.push(...contextPitfalls(input));
  checks.push(...envPitfalls(input.env, input.backend));
  if (input.configWarnings.length > 0) {
    checks.push({
      id: "legacy-settings",
      status: "warn",
      message: input.configWarnings.join(" "),
      fix: "Move the settings to builder.config.json under their Builder names, and delete the ones that have no effect.",
    });
  }
  return checks;
}

function numGpuPitfalls(input: PitfallInput): DoctorCheck[] {
  const value = input.rawOptions.num_gpu;
  if (value === undefined) return [];
  const layers = input.model?.layers;
  const gpuLayers = input.rawOptions.gpu_layers;
  const numbers = typeof value === "number" && (gpuLayers === undefined || typeof gpuLayers === "number");
  // The loader's rule (resolveGpuKeys): a small num_gpu beside a larger gpu_layers is a GPU number.
  const readAsIndex =
    numbers &&
    resolveGpuKeys({ numGpu: value, gpuLayers: gpuLayers as number | undefined }, "options").gpuIndex !== undefined;
  if (readAsIndex) {
    return [
      {
        id: "num-gpu-as-index",
        status: "warn",
        message:
          `options.num_gpu: ${String(value)} beside gpu_layers: ${String(gpuLayers)} is read as GPU number ${String(value)}, not as ${String(value)} layer(s): ` +
          `Builder keeps gpu_layers and runs on GPU #${String(value)}. In Ollama num_gpu counts layers, so the same file would put ${String(value)} layer(s) on the GPU there.`,
        fix: `Write "gpu_index": ${String(value)} in builder.config.json (for Ollama: CUDA_VISIBLE_DEVICES=${String(value)} on the server) and remove num_gpu.`,
        details: { num_gpu: value, gpu_layers: gpuLayers, layers },
      },
    ];
  }
  const checks: DoctorCheck[] = [];
  if (typeof value === "number" && value <= GPU_INDEX_LIKE && (layers === undefined || value < layers)) {
    checks.push({
      id: "num-gpu-as-index",
      status: "warn",
      message:
        `options.num_gpu: ${value} does not select GPU #${value}: in Ollama num_gpu is the number of layers offloaded to the GPU, ` +
        `so it puts ${value} layer${value === 1 ? "" : "s"}${layers ? ` of ${layers}` : ""} on the GPU and runs the rest on the CPU. Builder calls this setting gpu_layers.`,
      fix: `To choose a GPU, set "gpu_index": ${value} (embedded engine) or CUDA_VISIBLE_DEVICES=${value} in the environment of the process that runs the model (for Ollama: the server's). Remove num_gpu; leave gpu_layers unset to offload every layer that fits.`,
      details: { num_gpu: value, layers },
    });
  } else {
    checks.push({
      id: "num-gpu-name",
      status: "warn",
      message: `options.num_gpu is Ollama's name; Builder's config calls the layer count gpu_layers.`,
      fix: `Rename num_gpu to gpu_layers (or remove it to offload every layer that fits).`,
      details: { num_gpu: value },
    });
  }
  if (gpuLayers !== undefined && gpuLayers !== value) {
    checks.push({
      id: "num-gpu-conflict",
      status: "warn",
      message: `options sets both num_gpu: ${String(value)} and gpu_layers: ${String(gpuLayers)}, which are the same setting (layers on the GPU) with different values.`,
      fix: "Keep only gpu_layers.",
      details: { num_gpu: value, gpu_layers: gpuLayers },
    });
  }
  return checks;
}

function noEffectPitfalls(input: PitfallInput): DoctorCheck[] {
  const found = Object.keys(input.rawOptions).filter((key) => NO_EFFECT[key.toLowerCase()] !== undefined);
  if (found.length === 0) return [];
  return [
    {
      id: "no-effect-settings",
      status: "warn",
      message: found.map((key) => `options.${key}: ${NO_EFFECT[key.toLowerCase()]}.`).join(" "),
      fix: `Remove ${found.map((k) => `options.${k}`).join(", ")} from builder.config.json.`,
      details: { keys: found },
    },
  ];
}

function partialOffload(input: PitfallInput): DoctorCheck | undefined {
  const gpuLayers = input.options.gpu_layers;
  const layers = input.model?.layers;
  if (gpuLayers === undefined || layers === undefined || gpuLayers >= layers) return undefined;
  // Builder's own engine runs here: without a GPU here every layer is on the CPU anyway. A server's GPU is not seen.
  if (!input.gpuFound && describeBackend(input.backend).capabilities.ownEngine) return undefined;
  const onCpu = layers - gpuLayers;
  const looksLikeIndex =
    gpuLayers <= GPU_INDEX_LIKE
      ? ` A value of ${gpuLayers} often means a GPU number was meant; choose the GPU with CUDA_VISIBLE_DEVICES instead.`
      : "";
  return {
    id: "partial-offload",
    status: "warn",
    message:
      `gpu_layers: ${gpuLayers} offloads ${gpuLayers} of the model's ${layers} layers; the other ${onCpu} run on the CPU, ` +
      `which typically makes generation several times slower than a model that fits entirely on the GPU.${looksLikeIndex}`,
    fix: "Remove gpu_layers to offload every layer that fits; if the whole model does not fit, lower num_ctx or pick a smaller quantization (builder models --recommend).",
    details: { gpu_layers: gpuLayers, layers },
  };
}

/** num_thread above the physical cores (also warned about when a run starts: see run-warnings.ts). */
export function threadPitfall(input: Pick<PitfallInput, "options" | "cores">): DoctorCheck | undefined {
  const threads = input.options.num_thread;
  const { physical, logical, source } = input.cores;
  if (threads === undefined || threads <= physical) return undefined;
  const what = source === "logical" ? `${logical} cores` : `${physical} physical cores (${logical} logical)`;
  return {
    id: "threads-above-cores",
    status: "warn",
    message: `num_thread: ${threads} is more than this machine's ${what}. llama.cpp threads then compete for the same cores and generation slows down sharply (16 threads on a 2-core machine generated 2.4 tokens/s instead of several hundred).`,
    fix: `Set num_thread to at most ${physical}, or remove it: Builder measures the best count once per machine and model.`,
    details: { num_thread: threads, physical, logical },
  };
}

function contextPitfalls(input: PitfallInput): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const numCtx = input.options.num_ctx;
  if (numCtx === undefined) return checks;
  const prompt = input.typicalPrompt;
  if (prompt) {
    const answer = input.options.num_predict ?? MIN_ANSWER_TOKENS;
    const needed = prompt.tokens + answer;
    if (numCtx < needed) {
      checks.push({
        id: "num-ctx-below-prompt",
        status: "warn",
        message:
          `num_ctx: ${numCtx} is below the typical prompt (${prompt.tokens} tokens, ${prompt.source === "metrics" ? "p95 of recorded runs" : "estimated from the knowledge files"}) ` +
          `plus the answer (${answer}); such runs stop with CONTEXT_OVERFLOW.`,
        fix: `Raise options.num_ctx to at least ${roundUp(needed, 256)}, or trim the knowledge base / packs.`,
        details: { num_ctx: numCtx, prompt_tokens: prompt.tokens, answer_tokens: answer },
      });
    }
  }
  const trained = input.model?.contextLength;
  if (trained !== undefined && numCtx > trained) {
    checks.push({
      id: "num-ctx-above-trained",
      status: "warn",
      message: `num_ctx: ${numCtx} is beyond the ${trained} tokens the model was trained for; answers degrade past that point.`,
      fix: `Lower options.num_ctx to ${trained} or less (or use a model with a longer context).`,
      details: { num_ctx: numCtx, context_length: trained },
    });
  }
  return checks;
}

/** Variables people set expecting Ollama to read them; it does not (it reads options from requests and Modelfiles). */
const ENV_OLLAMA_IGNORES: Readonly<Record<string, string>> = {
  OLLAMA_NUM_GPU: "set num_gpu per model (Modelfile PARAMETER) or per request; choose GPUs with CUDA_VISIBLE_DEVICES",
  OLLAMA_GPU_LAYERS: "set num_gpu per model (Modelfile PARAMETER) or per request",
  OLLAMA_NUM_CTX: "use options.num_ctx (Builder sends it with every request) or OLLAMA_CONTEXT_LENGTH on newer servers",
  OLLAMA_NUM_THREAD: "use options.num_thread",
  OLLAMA_NUM_THREADS: "use options.num_thread",
  OLLAMA_F16_KV: "the KV cache is f16 by default; OLLAMA_KV_CACHE_TYPE selects another type",
  OLLAMA_MAIN_GPU: "choose the GPU with CUDA_VISIBLE_DEVICES on the server",
  OLLAMA_LOW_VRAM: "lower num_ctx or num_gpu instead",
  OLLAMA_NUM_BATCH: "use options.num_batch",
  OLLAMA_USE_MLOCK: "use_mlock is deprecated in Ollama",
};

const QUANTIZED_KV = new Set(["q8_0", "q4_0"]);

/** Environment variables that do nothing where the user expects them to. */
export function envPitfalls(env: NodeJS.ProcessEnv, backend: BackendName): DoctorCheck[] {
  const checks: DoctorCheck[] = [];
  const ignored = Object.keys(ENV_OLLAMA_IGNORES).filter((name) => env[name] !== undefined && env[name] !== "");
  if (ignored.length > 0) {
    checks.push({
      id: "env-no-effect",
      status: "warn",
      message: `Ollama does not read ${ignored.join(", ")}: ${ignored.map((name) => `${name} (${ENV_OLLAMA_IGNORES[name]})`).join("; ")}.`,
      fix: `Unset ${ignored.join(", ")} and use the settings named above.`,
      details: { variables: ignored },
    });
  }
  const kvType = env.OLLAMA_KV_CACHE_TYPE?.trim().toLowerCase();
  if (kvType) {
    if (describeBackend(backend).capabilities.ownEngine) {
      checks.push({
        id: "env-ollama-on-embedded",
        status: "warn",
        message: `OLLAMA_KV_CACHE_TYPE=${kvType} is an Ollama server setting; it has no effect on Builder's embedded engine.`,
        fix: "Unset it here, or set it where the Ollama server runs.",
      });
    } else if (QUANTIZED_KV.has(kvType) && !/^(1|true)$/i.test(env.OLLAMA_FLASH_ATTENTION ?? "")) {
      checks.push({
        id: "kv-cache-needs-flash-attention",
        status: "warn",
        message: `OLLAMA_KV_CACHE_TYPE=${kvType} only takes effect with flash attention; OLLAMA_FLASH_ATTENTION is not set, so the cache stays f16.`,
        fix: "Set OLLAMA_FLASH_ATTENTION=1 next to OLLAMA_KV_CACHE_TYPE in the Ollama server's environment.",
      });
    }
  }
  return checks;
}

function roundUp(value: number, step: number): number {
  return Math.ceil(value / step) * step;
}
