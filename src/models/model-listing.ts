import { describeBackend } from "../backends/descriptors.js";
import { detectCores } from "../system/cpu-cores.js";
import type { BuilderConfig } from "../config/load.js";
import { isLocalPathRef } from "../config/model-ref.js";
import { DEFAULT_NUM_CTX, defaultContextSize } from "../window-size/policy.js";
import { OllamaAdmin } from "../server-admin/ollama-admin.js";
import type { GpuDetection } from "../system/gpu.js";
import { memoryBudget, type MemoryBudget } from "../system/memory-budget.js";
import { BUILT_IN_CATALOG_AS_OF, mergeCatalog } from "./catalog.js";
import { listLocalModels } from "./local-models.js";
import { estimateFit, marginForCards, type KvCacheType } from "./memory-estimate.js";
import { factsFromOllamaModelInfo, type ModelFacts } from "./model-shape.js";
import { recommendModels, type Recommendation } from "./recommend.js";

/** Whether a model fits the memory at the context Builder would use. */
export interface ListedFit {
  num_ctx: number;
  fits: boolean;
  total_bytes: number;
  /** The largest context (multiple of 256) that fits the memory, capped at the model's trained context. */
  max_num_ctx: number;
}

/** One row of `builder models`. */
export interface ListedModel {
  source: "gguf" | "ollama";
  /** File path (gguf) or tag (ollama). */
  name: string;
  size_bytes: number;
  quantization?: string;
  context_length?: number;
  layers?: number;
  /** Absent when the model's shape or the memory is unknown. */
  fit?: ListedFit;
  /** Whether this is the model the config names. */
  configured: boolean;
  error?: string;
}

/** What `builder models` shows. */
export interface ModelListing {
  memory?: MemoryBudget;
  /** The configured num_ctx; undefined means each model at min(8192, its trained context). */
  num_ctx?: number;
  kv_cache_type: KvCacheType;
  models: ListedModel[];
  /** Why Ollama's tags are missing, when the backend is ollama and it did not answer. */
  ollama_error?: string;
}

/** Local GGUF files (model cache + the configured file) and, for the ollama backend, its tags; each with its fit. */
export async function listModels(
  config: BuilderConfig,
  detection: GpuDetection,
  cacheType: KvCacheType = "f16",
): Promise<ModelListing> {
  const memory = memoryBudget(config, detection);
  const { capabilities } = describeBackend(config.backend);
  // Builder's own engine loads a GGUF file: the configured one is listed wherever it lies.
  const configuredFile = capabilities.ownEngine && config.model && isLocalPathRef(config.model) ? [config.model] : [];
  const local = await listLocalModels(config.modelCacheDir, configuredFile);
  const models: ListedModel[] = local.map((model) => ({
    source: "gguf",
    name: model.path,
    size_bytes: model.sizeBytes,
    quantization: model.facts?.quantization,
    context_length: model.facts?.contextLength,
    layers: model.facts?.layers,
    fit: model.facts ? fitFor(model.facts, config, memory, cacheType) : undefined,
    configured: model.path === config.model,
    error: model.error,
  }));
  let ollamaError: string | undefined;
  if (capabilities.pulledModels) {
    const admin = new OllamaAdmin(config.ollama.host, 5000);
    try {
      for (const tag of await admin.listModels()) {
        const facts = await admin.show(tag.name).then(
          (details) => factsFromOllamaModelInfo(details.modelInfo, tag.sizeBytes, tag.quantization),
          () => undefined,
        );
        models.push({
          source: "ollama",
          name: tag.name,
          size_bytes: tag.sizeBytes,
          quantization: tag.quantization,
          context_length: facts?.contextLength,
          layers: facts?.layers,
          fit: facts ? fitFor(facts, config, memory, cacheType) : undefined,
          configured: tag.name === config.model || tag.name === `${config.model ?? ""}:latest`,
        });
      }
    } catch (error) {
      ollamaError = (error as Error).message;
    }
  }
  return { memory, num_ctx: config.options.num_ctx, kv_cache_type: cacheType, models, ollama_error: ollamaError };
}

function fitFor(
  facts: ModelFacts,
  config: BuilderConfig,
  memory: MemoryBudget | undefined,
  cacheType: KvCacheType,
): ListedFit | undefined {
  if (!memory) return undefined;
  const numCtx = config.options.num_ctx ?? defaultContextSize(facts.contextLength);
  const fit = estimateFit({
    shape: facts,
    numCtx,
    cacheType,
    availableBytes: memory.bytes,
    overheadBytes: marginForCards(memory.gpus?.length ?? 1),
    gpuLayers: memory.kind === "gpu" ? config.options.gpu_layers : undefined,
  });
  return {
    num_ctx: numCtx,
    fits: fit.fits,
    total_bytes: fit.totalBytes,
    max_num_ctx: Math.min(fit.maxNumCtx, facts.contextLength ?? fit.maxNumCtx),
  };
}

/** What `builder models --recommend` shows. */
export interface RecommendationListing {
  memory?: MemoryBudget;
  num_ctx: number;
  kv_cache_type: KvCacheType;
  /** The built-in table's date; its sizes are the published files' at that time. */
  catalog_as_of: string;
  recommendations: Recommendation[];
}

/** Ranks the catalog (built-in + config `models.catalog`) for this machine's memory at the configured context. */
export function recommendForConfig(
  config: BuilderConfig,
  detection: GpuDetection,
  cacheType: KvCacheType = "f16",
): RecommendationListing {
  const memory = memoryBudget(config, detection);
  const numCtx = config.options.num_ctx ?? DEFAULT_NUM_CTX;
  const catalog = mergeCatalog(config.modelCatalog ?? []);
  return {
    memory,
    num_ctx: numCtx,
    kv_cache_type: cacheType,
    catalog_as_of: BUILT_IN_CATALOG_AS_OF,
    recommendations: memory
      ? recommendModels(
          catalog,
          memory.bytes,
          numCtx,
          cacheType,
          memory.gpus?.length ?? 1,
          memory.kind === "ram" ? detectCores().physical : undefined,
        )
      : [],
  };
}
