import { ANSWER_FORMATS, EDIT_MODES } from "../answer/changes.js";
import { z } from "zod";

/**
 * Generation options, named as Ollama names them so that one config serves every backend.
 * Each is optional: an unset option means "Builder picks a good value for this machine and model".
 */
export const GenerationOptionsSchema = z
  .object({
    num_ctx: z
      .union([z.number().int().min(256), z.literal("auto")])
      .describe(
        "context window in tokens; auto (the default): the smallest of 8K, 16K, 32K, 64K, 128K that holds the task, capped by the model and the card",
      ),
    num_predict: z
      .union([z.number().int().min(16), z.literal("auto")])
      .describe("the most tokens the answer may use; auto (the default): the room left in the window, up to 8192"),
    temperature: z.number().min(0).max(2),
    top_p: z.number().gt(0).max(1),
    top_k: z.number().int().min(0),
    repeat_penalty: z.number().min(0),
    seed: z.number().int(),
    num_thread: z.number().int().min(1).describe("CPU threads; unset = measured once per machine and model"),
    num_batch: z.number().int().min(1),
    gpu_layers: z.number().int().min(0).describe("layers offloaded to the GPU (Ollama calls it num_gpu)"),
    use_mmap: z.boolean(),
    use_mlock: z.boolean(),
  })
  .partial()
  .strict();

/** Generation options as written (a file, the environment, a flag): `num_ctx` and `num_predict` may say "auto". */
export type GenerationOptionsInput = z.infer<typeof GenerationOptionsSchema>;

/**
 * Generation options as Builder uses them: "auto" is resolved to unset, which every reader treats as
 * "Builder picks" (the window by the task, the answer by the room left).
 */
export type GenerationOptions = Omit<GenerationOptionsInput, "num_ctx" | "num_predict"> & {
  num_ctx?: number;
  num_predict?: number;
};

/**
 * Resolves "auto" to unset after the sources are merged (so that an environment or flag "auto"
 * overrides a file's number, as any later source does).
 */
export function resolveAutoOptions(options: GenerationOptionsInput): GenerationOptions {
  // Key order is kept: a Modelfile lists the options as they were written.
  const isAuto = ([key, value]: [string, unknown]): boolean =>
    (key === "num_ctx" || key === "num_predict") && value === "auto";
  return Object.fromEntries(Object.entries(options).filter((entry) => !isAuto(entry))) as GenerationOptions;
}

/**
 * Options as builder.config.json may write them: the generation options plus Ollama's `num_gpu`, accepted
 * as an alias of `gpu_layers` (a layer count, not a GPU index; the loader warns when it looks like one).
 */
export const ConfigOptionsSchema = GenerationOptionsSchema.extend({
  num_gpu: z
    .number()
    .int()
    .min(0)
    .optional()
    .describe("Ollama's name for gpu_layers: layers offloaded, not a GPU index"),
}).strict();

/** A GPU number as nvidia-smi counts the cards (config `gpu_index`, `.ollamarc` `gpu`). */
export const GpuIndexSchema = z.number().int().min(0).max(63);

/** Timeouts for model servers, in milliseconds (see BuilderConfig["ollama"]["timeouts"]). */
const ServerTimeoutFields = {
  /** The most time a request that loads nothing (checking the server and the model) may take. */
  connect_timeout_ms: z.number().int().positive().optional(),
  /** The most time from sending a generation request to its first token (model load plus prompt). */
  load_timeout_ms: z.number().int().positive().optional(),
  /** The most time between two streamed pieces of an answer once it has started. */
  idle_timeout_ms: z.number().int().positive().optional(),
};

export const BACKEND_NAMES = ["embedded", "ollama", "openai"] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

/** Ids of the AST rules verification applies; `verify.rules` switches each on or off. */
export const VERIFY_RULE_IDS = ["no-any", "explicit-return-types", "loc-max", "no-console-log"] as const;
export type VerifyRuleId = (typeof VERIFY_RULE_IDS)[number];

/** `verify.sandbox`: sandboxed when possible, refuse without a sandbox, or never sandboxed. */
export const SANDBOX_MODES = ["auto", "required", "off"] as const;

/** The `verify` section: which checks run on a suggestion, and how many repair rounds are allowed. */
export const VerifyConfigSchema = z
  .object({
    /** Unset = automatic: on when the workspace has a tsconfig.json. */
    enabled: z.boolean(),
    checks: z
      .object({ typecheck: z.boolean(), rules: z.boolean(), tests: z.boolean(), lint: z.boolean() })
      .partial()
      .strict(),
    /** Each entry switches one rule on (its id) or sets it ({"id", "enabled"}); unlisted rules keep their default. */
    rules: z.array(
      z.union([z.enum(VERIFY_RULE_IDS), z.object({ id: z.enum(VERIFY_RULE_IDS), enabled: z.boolean() }).strict()]),
    ),
    /** The tsconfig to typecheck with, relative to the workspace. */
    tsconfig: z.string().min(1),
    /** Runs the suggestion's tests; `{file}` is replaced by the test file (else it is appended). */
    test_command: z.string().min(1),
    /** Runs a linter; `{files}` is replaced by the changed files (else they are appended). Setting it turns lint on. */
    lint_command: z.string().min(1),
    timeouts: z
      .object({ tests_ms: z.number().int().min(1000), lint_ms: z.number().int().min(1000) })
      .partial()
      .strict(),
    max_repairs: z.number().int().min(0).max(10),
    /** How model-written code runs: "auto" (sandboxed when possible), "required", "off", or the object form with limits. */
    sandbox: z.union([
      z.enum(SANDBOX_MODES),
      z
        .object({
          mode: z.enum(SANDBOX_MODES),
          network: z.boolean(),
          memory_mb: z.number().int().min(64),
          max_processes: z.number().int().min(8),
          cpu_seconds: z.number().int().min(1),
        })
        .partial()
        .strict(),
    ]),
  })
  .partial()
  .strict();

export type VerifyConfig = z.infer<typeof VerifyConfigSchema>;

/** One quantization of a catalog model: its name ("Q4_K_M"), file size and where to get it. */
export const CatalogQuantSchema = z
  .object({
    quant: z.string().min(1),
    size_gb: z.number().positive().describe("file size in GB (10^9 bytes)"),
    hf: z.string().min(1).optional(),
    ollama: z.string().min(1).optional(),
  })
  .strict();

/** A code model `builder models --recommend` may suggest; the built-in table is extended by config `models.catalog`. */
export const CatalogEntrySchema = z
  .object({
    name: z.string().min(1),
    params_b: z.number().positive().describe("parameters, in billions"),
    layers: z.number().int().positive(),
    kv_heads: z.number().int().positive(),
    head_dim: z.number().int().positive(),
    context_length: z.number().int().positive().optional(),
    quants: z.array(CatalogQuantSchema).min(1),
  })
  .strict();

export type CatalogEntry = z.infer<typeof CatalogEntrySchema>;

/** API list prices for `builder cost`, per million tokens. */
export const ApiPriceSchema = z
  .object({
    input_per_million: z.number().min(0),
    output_per_million: z.number().min(0),
    /** When the price was read (e.g. "2025-01"); shown next to it. */
    as_of: z.string().optional(),
  })
  .strict();

/** Inputs of `builder cost`; anything unset falls back to a default that is labelled as such. */
export const CostConfigSchema = z
  .object({
    /** Average power draw of the machine while it generates, in watts. */
    power_watts: z.number().positive().optional(),
    /** Electricity price per kWh, in `currency`. */
    electricity_price_per_kwh: z.number().min(0).optional(),
    currency: z.string().min(1).optional(),
    /** What the hardware cost, for the break-even figure. */
    hardware_price: z.number().min(0).optional(),
    /** API prices to compare with, by name; replaces the built-in table when given. */
    api_prices: z.record(z.string(), ApiPriceSchema).optional(),
  })
  .strict();

export type CostConfig = z.infer<typeof CostConfigSchema>;

/** The shape of builder.config.json. */
export const ConfigFileSchema = z
  .object({
    $schema: z.string().optional(),
    /**
     * The legacy files `builder init` moved into this file (".ollamarc", "config.json", "Modelfile"):
     * the folder's `.ollamarc` is then no longer read, its keys being here.
     */
    migrated_from: z.array(z.string().min(1)).optional(),
    backend: z.enum(BACKEND_NAMES).optional(),
    /** A GGUF path (relative to the config file), an `hf:` URI, or an http(s) URL; or an Ollama model name. */
    model: z.string().min(1).optional(),
    /** Where downloaded models are kept. */
    model_cache_dir: z.string().min(1).optional(),
    /** Which llama.cpp build to use: "auto" picks a GPU build when one works, false forces CPU. */
    gpu: z.union([z.enum(["auto", "cuda", "vulkan", "metal"]), z.literal(false)]).optional(),
    /** The one GPU the embedded engine uses, by nvidia-smi's number (unset: every visible GPU). */
    gpu_index: GpuIndexSchema.optional(),
    /** Knowledge base files, placed first in every prompt (paths relative to the config file). */
    knowledge: z.array(z.string().min(1)).optional(),
    /** Named context packs: `constraints.pack` picks one; each is a list of extra knowledge files. */
    packs: z.record(z.string(), z.array(z.string().min(1))).optional(),
    /** Folders outside the workspace that knowledge and pack files may be read from (each read is logged); otherwise they must lie inside it. */
    knowledge_allow_outside: z.array(z.string().min(1)).optional(),
    /** Workspace root (relative to the config file). */
    workspace: z.string().min(1).optional(),
    /** .gitignore-style patterns added to the default deny list (files never sent to the model nor written); `!pattern` lifts one. */
    deny: z.array(z.string().min(1)).optional(),
    options: ConfigOptionsSchema.optional(),
    /**
     * Bound the answer by num_predict in the worst case (default false), so that even a model that never
     * stops ends with a complete answer. Off, a real model stops by itself, and an answer that runs out
     * of tokens fails as GENERATION_TRUNCATED.
     */
    bounded_answer: z.boolean().optional(),
    /** How the model writes its answer (`format`: auto|text|json) and changes existing files (`edits`: auto|search-replace|whole). */
    answer: z
      .object({ format: z.enum(ANSWER_FORMATS).optional(), edits: z.enum(EDIT_MODES).optional() })
      .strict()
      .optional(),
    /** How long the Builder host keeps a model loaded after a request ("5m"; 0 = in-process, no host; -1 = until `builder stop`). */
    keep_alive: z.union([z.string(), z.number()]).optional(),
    /** Requests each model of the Builder host generates at once, on parallel sequences (default 1; as OLLAMA_NUM_PARALLEL). */
    num_parallel: z.number().int().min(1).optional(),
    /** Models the Builder host keeps loaded side by side at most (default 3; as OLLAMA_MAX_LOADED_MODELS). */
    max_loaded_models: z.number().int().min(1).optional(),
    /** Prompt-lookup speculative decoding on the embedded engine (default true). */
    speculative: z.boolean().optional(),
    /** Size cap of the on-disk prefix cache in MiB (default 4096; 0 = off). */
    prefix_cache_mb: z.number().min(0).optional(),
    verify: VerifyConfigSchema.optional(),
    ollama: z
      .object({
        host: z.string().url().optional(),
        /** Several Ollama servers: requests go to the least busy one that is up (instead of `host`). */
        hosts: z.array(z.string().url()).min(1).optional(),
        keep_alive: z.union([z.string(), z.number()]).optional(),
        ...ServerTimeoutFields,
      })
      .strict()
      .optional(),
    /** Extra entries for the `builder models --recommend` table. */
    models: z
      .object({ catalog: z.array(CatalogEntrySchema).optional() })
      .strict()
      .optional(),
    cost: CostConfigSchema.optional(),
    /** `builder eval`: how a repository runs its tests (`{files}` = the commit's test files); default package.json's test script. */
    eval: z
      .object({ test_command: z.string().min(1).optional() })
      .strict()
      .optional(),
    /** Few-shot retrieval: the most similar verified past tasks added after the stable priming (0 = off). */
    few_shot: z
      .object({
        examples: z.number().int().min(0).optional(),
        max_tokens: z.number().int().min(0).optional(),
      })
      .strict()
      .optional(),
    openai: z
      .object({
        base_url: z.string().url().optional(),
        /** Several OpenAI-compatible servers (instead of `base_url`). */
        base_urls: z.array(z.string().url()).min(1).optional(),
        /** Name of the environment variable holding the API key (the key itself never goes in a file). */
        api_key_env: z.string().optional(),
        ...ServerTimeoutFields,
      })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigFile = z.infer<typeof ConfigFileSchema>;
