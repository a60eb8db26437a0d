import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { ConfigError } from "../errors/errors.js";
import { parseOllamarc } from "./legacy-ollamarc.js";
import {
  BACKEND_NAMES,
  ConfigFileSchema,
  GenerationOptionsSchema,
  describeIssues,
  type BackendName,
  type CatalogEntry,
  type ConfigFile,
  type CostConfig,
  type GenerationOptions,
} from "./schema.js";

export const CONFIG_FILE_NAME = "builder.config.json";

/** The configuration every part of Builder reads: all sources merged, paths absolute. */
export interface BuilderConfig {
  backend: BackendName;
  /** Absolute GGUF path, `hf:` URI, URL, or a server-side model name. Undefined when nothing configured one. */
  model?: string;
  modelCacheDir: string;
  gpu: "auto" | "cuda" | "vulkan" | "metal" | false;
  /** Absolute paths of the knowledge base files. */
  knowledge: string[];
  /** Context packs by name, absolute paths. */
  packs: Record<string, string[]>;
  workspace: string;
  options: GenerationOptions;
  /** Whether answer string lengths are bounded by the token budget (see ConfigFileSchema). */
  boundedAnswer: boolean;
  ollama: { host: string; keepAlive?: string | number };
  openai: { baseUrl: string; apiKeyEnv: string };
  /** Extra `builder models --recommend` entries (config `models.catalog`). Optional so hand-built configs stay valid. */
  modelCatalog?: CatalogEntry[];
  /** `builder cost` inputs (config `cost`); unset fields fall back to labelled defaults. */
  cost?: CostConfig;
  /** Few-shot retrieval (config `few_shot`): how many verified examples, within how many tokens; unset or 0 = off. */
  fewShot?: { examples: number; maxTokens: number };
  /** The config file that was read, if any. */
  configPath?: string;
  /** Things the user should know about their configuration (unhonoured legacy keys…). */
  warnings: string[];
}

/** Overrides from the command line; they win over everything else. */
export interface ConfigOverrides {
  backend?: BackendName;
  model?: string;
  workspace?: string;
  host?: string;
  options?: GenerationOptions;
  boundedAnswer?: boolean;
}

export interface LoadConfigOptions {
  /** Where the walk up for builder.config.json starts. Default: process.cwd(). */
  cwd?: string;
  /** An explicit config file (`--config`); no walk up then. */
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
  /**
   * Parsed config content to use instead of reading `configPath` (paths still resolve against its
   * folder). `builder doctor` passes a copy with invalid entries removed, to check the rest.
   */
  fileContent?: unknown;
}

/** Finds builder.config.json in `start` or the nearest folder above it. */
export function findConfigFile(start: string): string | undefined {
  let dir = path.resolve(start);
  for (;;) {
    const candidate = path.join(dir, CONFIG_FILE_NAME);
    if (existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * Loads the configuration. Precedence, lowest first: defaults, legacy `.ollamarc` (home, then the
 * config folder), builder.config.json, environment (`BUILDER_*`, `OLLAMA_HOST`, `OLLAMA_MODEL`), overrides.
 */
export function loadConfig(options: LoadConfigOptions = {}): BuilderConfig {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const configPath = options.configPath ? path.resolve(cwd, options.configPath) : findConfigFile(cwd);
  if (options.configPath && configPath && !existsSync(configPath)) {
    throw new ConfigError(`Config file ${configPath} does not exist. Check the --config path.`, { path: configPath });
  }
  const file = options.fileContent !== undefined ? validateConfig(options.fileContent, configPath ?? "config") : configPath ? readConfigFile(configPath) : {};
  const baseDir = configPath ? path.dirname(configPath) : cwd;
  const warnings: string[] = [];

  let options_: GenerationOptions = {};
  let legacyModel: string | undefined;
  let legacyHost: string | undefined;
  for (const rcPath of unique([path.join(homedir(), ".ollamarc"), path.join(baseDir, ".ollamarc")])) {
    if (!existsSync(rcPath)) continue;
    let legacy;
    try {
      legacy = parseOllamarc(readFileSync(rcPath, "utf8"), rcPath);
    } catch (error) {
      throw new ConfigError(`${(error as Error).message}. Fix or remove ${rcPath}.`, { path: rcPath });
    }
    options_ = { ...options_, ...legacy.options };
    legacyModel = legacy.model ?? legacyModel;
    legacyHost = legacy.host ?? legacyHost;
    warnings.push(...legacy.warnings);
  }
  options_ = { ...options_, ...file.options, ...optionsFromEnv(env), ...options.overrides?.options };

  const envBackend = env.BUILDER_BACKEND;
  if (envBackend !== undefined && !(BACKEND_NAMES as readonly string[]).includes(envBackend)) {
    throw new ConfigError(`BUILDER_BACKEND="${envBackend}" is not a backend. Use one of: ${BACKEND_NAMES.join(", ")}.`);
  }
  const backend: BackendName = options.overrides?.backend ?? (envBackend as BackendName | undefined) ?? file.backend ?? "embedded";

  const modelFromOllamaEnv = backend === "ollama" ? env.OLLAMA_MODEL : undefined;
  const model =
    options.overrides?.model !== undefined
      ? resolveModelRef(options.overrides.model, cwd)
      : env.BUILDER_MODEL
        ? resolveModelRef(env.BUILDER_MODEL, cwd)
        : modelFromOllamaEnv
          ? modelFromOllamaEnv
          : file.model
            ? resolveModelRef(file.model, baseDir)
            : legacyModel;

  const workspace = options.overrides?.workspace
    ? path.resolve(cwd, options.overrides.workspace)
    : file.workspace
      ? path.resolve(baseDir, file.workspace)
      : configPath
        ? baseDir
        : cwd;

  return {
    backend,
    model,
    modelCacheDir: path.resolve(baseDir, env.BUILDER_MODEL_CACHE ?? file.model_cache_dir ?? defaultCacheDir(env)),
    gpu: parseGpu(env.BUILDER_GPU) ?? file.gpu ?? "auto",
    knowledge: (file.knowledge ?? []).map((p) => path.resolve(baseDir, p)),
    packs: Object.fromEntries(Object.entries(file.packs ?? {}).map(([name, files]) => [name, files.map((p) => path.resolve(baseDir, p))])),
    workspace,
    options: options_,
    boundedAnswer: options.overrides?.boundedAnswer ?? parseBoolean(env.BUILDER_BOUNDED_ANSWER, "BUILDER_BOUNDED_ANSWER") ?? file.bounded_answer ?? true,
    ollama: {
      host: options.overrides?.host ?? normaliseOllamaHost(env.OLLAMA_HOST) ?? file.ollama?.host ?? legacyHost ?? "http://127.0.0.1:11434",
      keepAlive: file.ollama?.keep_alive,
    },
    openai: {
      baseUrl: env.OPENAI_BASE_URL ?? file.openai?.base_url ?? "http://127.0.0.1:8080/v1",
      apiKeyEnv: file.openai?.api_key_env ?? "OPENAI_API_KEY",
    },
    modelCatalog: file.models?.catalog ?? [],
    cost: file.cost ?? {},
    fewShot: { examples: file.few_shot?.examples ?? 0, maxTokens: file.few_shot?.max_tokens ?? 2048 },
    configPath,
    warnings,
  };
}

function readConfigFile(configPath: string): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (error) {
    throw new ConfigError(`${configPath} is not valid JSON (${(error as Error).message}). Fix the file or remove it.`, { path: configPath });
  }
  return validateConfig(raw, configPath);
}

function validateConfig(raw: unknown, configPath: string): ConfigFile {
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${configPath} is invalid: ${describeIssues(parsed.error)}.`, { path: configPath });
  }
  return parsed.data;
}

/** `BUILDER_NUM_CTX=8192` and friends: one variable per generation option. */
function optionsFromEnv(env: NodeJS.ProcessEnv): GenerationOptions {
  const raw: Record<string, number | boolean> = {};
  for (const key of Object.keys(GenerationOptionsSchema.shape)) {
    const value = env[`BUILDER_${key.toUpperCase()}`];
    if (value === undefined || value === "") continue;
    if (value === "true" || value === "false") raw[key] = value === "true";
    else raw[key] = Number(value);
  }
  const parsed = GenerationOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`Environment override invalid: ${describeIssues(parsed.error).replace(/(^|; )(\w+):/g, (_m, sep: string, key: string) => `${sep}BUILDER_${key.toUpperCase()}:`)}.`);
  }
  return parsed.data;
}

function parseBoolean(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigError(`${name}="${value}" is not valid. Use true or false.`);
}

function parseGpu(value: string | undefined): BuilderConfig["gpu"] | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "false" || value === "cpu") return false;
  if (value === "auto" || value === "cuda" || value === "vulkan" || value === "metal") return value;
  throw new ConfigError(`BUILDER_GPU="${value}" is not valid. Use auto, cuda, vulkan, metal or false.`);
}

/** True for references that name a file on disk rather than a URI, URL or server-side model name. */
export function isLocalPathRef(ref: string): boolean {
  return !/^(hf:|huggingface:|https?:\/\/)/i.test(ref);
}

function resolveModelRef(ref: string, baseDir: string): string {
  if (!isLocalPathRef(ref)) return ref;
  // A bare Ollama-style name ("qwen2.5-coder:7b") is not a path; a GGUF reference ends in .gguf or has a slash.
  if (!ref.toLowerCase().endsWith(".gguf") && !ref.includes("/") && !ref.includes("\\")) return ref;
  return path.resolve(baseDir, ref);
}

function normaliseOllamaHost(value: string | undefined): string | undefined {
  if (!value) return undefined;
  // OLLAMA_HOST is often written "0.0.0.0:11434" or "host:port" without a scheme.
  return /^https?:\/\//.test(value) ? value : `http://${value}`;
}

function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || path.join(homedir(), ".cache");
  return path.join(base, "builder", "models");
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
