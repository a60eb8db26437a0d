import { ANSWER_FORMATS, EDIT_MODES, type AnswerFormat, type EditMode } from "../answer/changes.js";
import { existsSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import path from "node:path";
import { describeIssues } from "../errors/describe-issues.js";
import { ConfigError } from "../errors/errors.js";
import { discoverKnowledge } from "./knowledge-discovery.js";
import { findWorkspaceRoot } from "./workspace-root.js";
import { fromAgentSystemConfig, isAgentSystemConfig } from "./agent-system.js";
import { resolveGpuKeys } from "./gpu-keys.js";
import { parseOllamarc } from "./legacy-ollamarc.js";
import { resolveEngineSettings, type EngineSettings } from "./engine-settings.js";
import { isLocalPathRef } from "./model-ref.js";
import { loadSetting } from "./setting.js";
import { optionsFromEnv, parseBackend, parseBoolean, parseChoice, parseGpu, parseGpuIndex } from "./env-values.js";
import { resolveVerifySettings, type VerifyOverrides, type VerifySettings } from "./verify-settings.js";
import {
  ConfigFileSchema,
  resolveAutoOptions,
  type BackendName,
  type CatalogEntry,
  type ConfigFile,
  type CostConfig,
  type GenerationOptions,
  type GenerationOptionsInput,
} from "./schema.js";

export const CONFIG_FILE_NAME = "builder.config.json";

/** The configuration every part of Builder reads: all sources merged, paths absolute. */
export interface BuilderConfig {
  backend: BackendName;
  /** Absolute GGUF path, `hf:` URI, URL, or a server-side model name. Undefined when nothing configured one. */
  model?: string;
  modelCacheDir: string;
  gpu: "auto" | "cuda" | "vulkan" | "metal" | false;
  /**
   * The one GPU the embedded engine runs on, by nvidia-smi's number (config `gpu_index`, `.ollamarc`
   * `gpu`); undefined: every visible GPU. Memory fit is judged on this card alone.
   */
  gpuIndex?: number;
  /** Absolute paths of the knowledge base files. */
  knowledge: string[];
  /** Context packs by name, absolute paths. */
  packs: Record<string, string[]>;
  /** Absolute folders outside the workspace that knowledge and pack files may come from (`knowledge_allow_outside`). */
  knowledgeAllowOutside: string[];
  workspace: string;
  /** Deny-list patterns added to the defaults (see src/workspace/ignore.ts). */
  deny: string[];
  options: GenerationOptions;
  /** Whether answer string lengths are bounded by the token budget (see ConfigFileSchema). */
  boundedAnswer: boolean;
  /** The answer's format and edit mode (`auto` resolves per backend, see src/answer/answer-plan.ts). */
  answer: { format: AnswerFormat; edits: EditMode };
  /** Resident engine, prefix cache and speculative decoding; unset (hand-built configs) = in-process, none of them. */
  engine?: EngineSettings;
  /** Ollama servers: `host` is the first of `hosts` (several hosts make an endpoint pool). */
  ollama: { host: string; hosts: string[]; keepAlive?: string | number; timeouts: ServerTimeouts };
  /** OpenAI-compatible servers: `baseUrl` is the first of `baseUrls`. */
  openai: { baseUrl: string; baseUrls: string[]; apiKeyEnv: string; timeouts: ServerTimeouts };
  /** How suggestions are verified and repaired (the `verify` section, `--no-verify`, `--max-repairs`). */
  verify: VerifySettings;
  /** Extra `builder models --recommend` entries (config `models.catalog`). Optional so hand-built configs stay valid. */
  modelCatalog?: CatalogEntry[];
  /** `builder cost` inputs (config `cost`); unset fields fall back to labelled defaults. */
  cost?: CostConfig;
  /** `builder eval` settings (config `eval`). Optional so hand-built configs stay valid. */
  eval?: { testCommand?: string };
  /** Few-shot retrieval (config `few_shot`): how many verified examples, within how many tokens; unset or 0 = off. */
  fewShot?: { examples: number; maxTokens: number };
  /** The config file that was read, if any. */
  configPath?: string;
  /** Things the user should know about their configuration (unhonoured legacy keys…). */
  warnings: string[];
  /** Informational lines about how the configuration was read (an agent-system config.json's roles…). */
  notes?: string[];
}

/** How long Builder waits for a model server, in milliseconds. */
export interface ServerTimeouts {
  /** A request that loads nothing (checking the server and the model) must answer within this. */
  connectMs: number;
  /** From sending a generation request to its first token: model load plus prompt evaluation. */
  loadMs: number;
  /** Between two streamed pieces of an answer once it has started. */
  idleMs: number;
}

/** Defaults: a first request that loads a 20 GB model can take minutes, a running server answers checks at once. */
export const DEFAULT_SERVER_TIMEOUTS: Readonly<ServerTimeouts> = {
  connectMs: 10_000,
  loadMs: 600_000,
  idleMs: 120_000,
};

/** Overrides from the command line; they win over everything else. */
export interface ConfigOverrides {
  backend?: BackendName;
  model?: string;
  workspace?: string;
  /** `--host`: server URL(s) for the ollama / openai backend; several separated by commas make a pool. */
  serverUrls?: string;
  options?: GenerationOptionsInput;
  boundedAnswer?: boolean;
  answerFormat?: AnswerFormat;
  edits?: EditMode;
  verify?: VerifyOverrides;
  /** `--keep-alive`. */
  keepAlive?: string;
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

/** What the configuration is read from: the config file, the legacy `.ollamarc` files, the environment. */
interface ConfigSources {
  cwd: string;
  env: NodeJS.ProcessEnv;
  configPath: string | undefined;
  file: ConfigFile;
  /** The folder the file's relative paths resolve against (the config file's, else the working folder). */
  baseDir: string;
  legacy: LegacySettings;
  /** The file's generation options and GPU number, `num_gpu` read as in `.ollamarc`. */
  fromFile: { options: GenerationOptionsInput; gpuIndex?: number };
  flags: ConfigOverrides;
  warnings: string[];
  notes: string[];
}

/**
 * Loads the configuration. Precedence, lowest first: defaults, legacy `.ollamarc` (home, then the
 * config folder), builder.config.json, environment (`BUILDER_*`, `OLLAMA_HOST`, `OLLAMA_MODEL`), overrides.
 */
export function loadConfig(options: LoadConfigOptions = {}): BuilderConfig {
  const sources = readConfigSources(options);
  const { env, file, baseDir, flags, configPath, warnings } = sources;
  // Generation options merge key by key (a file's num_ctx survives an environment num_predict), so
  // they are spread in precedence order rather than chosen whole.
  const generation = resolveAutoOptions({
    ...sources.legacy.options,
    ...sources.fromFile.options,
    ...optionsFromEnv(env),
    ...flags.options,
  });
  const backend = loadSetting(
    { flag: flags.backend, env: parseBackend(env.BUILDER_BACKEND), file: file.backend },
    "embedded",
  );
  const model = resolveModel(backend, sources);
  if (backend === "embedded" && model === undefined && env.OLLAMA_MODEL)
    warnings.push(ollamaModelIgnored(env.OLLAMA_MODEL));
  const serverUrlFlag = flags.serverUrls !== undefined ? parseServerUrlList(flags.serverUrls) : undefined;
  const workspace = resolveWorkspace(sources);
  // A mistyped --workspace must not grow a fresh <typo>/.builder/ with metrics in it.
  requireFolder(
    workspace,
    flags.workspace ? "--workspace" : file.workspace ? `workspace in ${configPath}` : "the workspace",
  );
  return {
    backend,
    model,
    ...machineSettings(sources),
    ...knowledgeSettings(file, baseDir, workspace),
    workspace,
    deny: file.deny ?? [],
    options: generation,
    ...answerSettings(sources),
    engine: resolveEngineSettings(file, env, flags.keepAlive),
    ollama: ollamaSettings(file, env, backend === "ollama" ? serverUrlFlag : undefined, sources.legacy.serverUrl),
    openai: openaiSettings(file, env, backend === "openai" ? serverUrlFlag : undefined),
    verify: resolveVerifySettings(file.verify, flags.verify, configPath, file.deny ?? []),
    modelCatalog: file.models?.catalog ?? [],
    cost: file.cost ?? {},
    eval: { testCommand: file.eval?.test_command },
    fewShot: { examples: file.few_shot?.examples ?? 0, maxTokens: file.few_shot?.max_tokens ?? 2048 },
    configPath,
    warnings,
    notes: sources.notes,
  };
}

/** Finds and reads the config file (or takes `fileContent`), then the legacy files beside it. */
function readConfigSources(options: LoadConfigOptions): ConfigSources {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const configPath = options.configPath ? path.resolve(cwd, options.configPath) : findConfigFile(cwd);
  if (options.configPath && configPath && !existsSync(configPath)) {
    throw new ConfigError(`Config file ${configPath} does not exist. Check the --config path.`, { path: configPath });
  }
  const notes: string[] = [];
  const file =
    options.fileContent !== undefined
      ? validateConfig(options.fileContent, configPath ?? "config", notes)
      : configPath
        ? readConfigFile(configPath, notes)
        : {};
  const baseDir = configPath ? path.dirname(configPath) : cwd;
  const warnings: string[] = [];
  // After `builder init` the folder's .ollamarc is in the config file: reading it again would only repeat its warnings.
  const migrated = configPath !== undefined && (file.migrated_from ?? []).includes(".ollamarc");
  const legacy = readLegacyRcFiles(migrated ? undefined : baseDir, warnings);
  const fromFile = fileOptions(file, configPath ?? CONFIG_FILE_NAME, warnings);
  const env = options.env ?? process.env;
  return { cwd, env, configPath, file, baseDir, legacy, fromFile, flags: options.overrides ?? {}, warnings, notes };
}

/** The model cache and the GPU: environment, else the file (the GPU number: else `.ollamarc`), else the default. */
function machineSettings(sources: ConfigSources): Pick<BuilderConfig, "modelCacheDir" | "gpu" | "gpuIndex"> {
  const { env, file } = sources;
  const cacheDir = loadSetting({ env: env.BUILDER_MODEL_CACHE, file: file.model_cache_dir }, defaultCacheDir(env));
  return {
    modelCacheDir: path.resolve(sources.baseDir, cacheDir),
    gpu: loadSetting({ env: parseGpu(env.BUILDER_GPU), file: file.gpu }, "auto"),
    gpuIndex: loadSetting(
      { env: parseGpuIndex(env.BUILDER_GPU_INDEX), file: sources.fromFile.gpuIndex },
      sources.legacy.gpuIndex,
    ),
  };
}

/** Knowledge files, packs and the folders outside the workspace they may come from, as absolute paths. */
function knowledgeSettings(
  file: ConfigFile,
  baseDir: string,
  workspace: string,
): Pick<BuilderConfig, "knowledge" | "packs" | "knowledgeAllowOutside"> {
  return {
    // No knowledge configured: the conventional folders (the seed's agents/ollama-knowledge/, .builder/knowledge/).
    knowledge: file.knowledge ? file.knowledge.map((p) => path.resolve(baseDir, p)) : discoverKnowledge(workspace),
    packs: Object.fromEntries(
      Object.entries(file.packs ?? {}).map(([name, files]) => [name, files.map((p) => path.resolve(baseDir, p))]),
    ),
    knowledgeAllowOutside: (file.knowledge_allow_outside ?? []).map((p) => path.resolve(baseDir, p)),
  };
}

/** The answer's bounds, format and edit mode: flag, else environment, else file, else the default. */
function answerSettings({ flags, env, file }: ConfigSources): Pick<BuilderConfig, "boundedAnswer" | "answer"> {
  return {
    boundedAnswer: loadSetting(
      {
        flag: flags.boundedAnswer,
        env: parseBoolean(env.BUILDER_BOUNDED_ANSWER, "BUILDER_BOUNDED_ANSWER"),
        file: file.bounded_answer,
      },
      false,
    ),
    answer: {
      format: loadSetting(
        {
          flag: flags.answerFormat,
          env: parseChoice(env.BUILDER_ANSWER_FORMAT, ANSWER_FORMATS, "BUILDER_ANSWER_FORMAT"),
          file: file.answer?.format,
        },
        "auto",
      ),
      edits: loadSetting(
        {
          flag: flags.edits,
          env: parseChoice(env.BUILDER_EDITS, EDIT_MODES, "BUILDER_EDITS"),
          file: file.answer?.edits,
        },
        "auto",
      ),
    },
  };
}

function ollamaModelIgnored(ollamaModel: string): string {
  return `OLLAMA_MODEL=${ollamaModel} applies to the ollama backend; the embedded backend (the default) has no model. Use --backend ollama (or BUILDER_BACKEND=ollama), or set "model" to a GGUF file.`;
}

/** What the legacy `.ollamarc` files set (its `host` key is the Ollama server URL). */
interface LegacySettings {
  options: GenerationOptions;
  model?: string;
  serverUrl?: string;
  gpuIndex?: number;
}

/**
 * Settings from the legacy `.ollamarc` files (home, then the config folder; `baseDir` undefined: the
 * home one only, the folder's having been migrated by `builder init`); the later file wins.
 */
function readLegacyRcFiles(baseDir: string | undefined, warnings: string[]): LegacySettings {
  let options_: GenerationOptions = {};
  let legacyModel: string | undefined;
  let legacyServerUrl: string | undefined;
  let legacyGpuIndex: number | undefined;
  const rcPaths = [
    path.join(homedir(), ".ollamarc"),
    ...(baseDir === undefined ? [] : [path.join(baseDir, ".ollamarc")]),
  ];
  for (const rcPath of unique(rcPaths)) {
    if (!existsSync(rcPath)) continue;
    let legacy;
    try {
      legacy = parseOllamarc(readFileSync(rcPath, "utf8"), rcPath);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ConfigError(`${(error as Error).message}. Fix or remove ${rcPath}.`, { path: rcPath });
    }
    options_ = { ...options_, ...legacy.options };
    legacyGpuIndex = legacy.gpuIndex ?? legacyGpuIndex;
    legacyModel = legacy.model ?? legacyModel;
    legacyServerUrl = legacy.host ?? legacyServerUrl;
    warnings.push(...legacy.warnings);
  }
  return { options: options_, model: legacyModel, serverUrl: legacyServerUrl, gpuIndex: legacyGpuIndex };
}

/**
 * The model: flag, else BUILDER_MODEL, else OLLAMA_MODEL (ollama backend only), else the file, else
 * the legacy `.ollamarc`. Not {@link loadSetting}: a second variable counts for one backend only, and
 * flag and environment paths resolve against the working folder, the file's against its folder.
 */
function resolveModel(backend: BackendName, sources: ConfigSources): string | undefined {
  const { flags: overrides, env, file } = sources;
  // Server backends name models ("qwen2.5-coder:7b", "Qwen/Qwen2.5-Coder-7B"): only GGUF references are paths.
  const modelRef = (ref: string, dir: string): string => (backend === "embedded" ? resolveModelRef(ref, dir) : ref);
  if (overrides.model !== undefined) return modelRef(overrides.model, sources.cwd);
  if (env.BUILDER_MODEL) return modelRef(env.BUILDER_MODEL, sources.cwd);
  const modelFromOllamaEnv = backend === "ollama" ? env.OLLAMA_MODEL : undefined;
  if (modelFromOllamaEnv) return modelFromOllamaEnv;
  if (file.model) return modelRef(file.model, sources.baseDir);
  return sources.legacy.model;
}

/**
 * The workspace: flag, else the file's, else the config file's folder, else found from the working
 * folder. Not {@link loadSetting}: no environment variable, and the fallbacks depend on where the file is.
 */
function resolveWorkspace({ flags, file, configPath, cwd, baseDir }: ConfigSources): string {
  if (flags.workspace) return path.resolve(cwd, flags.workspace);
  if (file.workspace) return path.resolve(baseDir, file.workspace);
  if (configPath) return baseDir;
  return findWorkspaceRoot(cwd);
}

/**
 * The Ollama servers: `--host`, else OLLAMA_HOST (checked, Ollama's short forms accepted), else the
 * file's `hosts` or `host`, else `.ollamarc`, else this machine's default port.
 */
function ollamaSettings(
  file: ConfigFile,
  env: NodeJS.ProcessEnv,
  serverUrlFlag: string[] | undefined,
  legacyServerUrl: string | undefined,
): BuilderConfig["ollama"] {
  if (file.ollama?.host && file.ollama.hosts)
    throw new ConfigError("Give ollama.host or ollama.hosts in builder.config.json, not both.");
  const fromEnv = normaliseOllamaHost(env.OLLAMA_HOST);
  if (fromEnv !== undefined && !isHttpUrl(fromEnv)) {
    throw new ConfigError(
      `OLLAMA_HOST="${env.OLLAMA_HOST}" is not a server address. Use e.g. 127.0.0.1:11434 or http://gpu-box:11434.`,
      { variable: "OLLAMA_HOST" },
    );
  }
  const fromLegacy = legacyServerUrl ? [normaliseOllamaHost(legacyServerUrl) ?? legacyServerUrl] : undefined;
  const serverUrls = loadSetting(
    {
      flag: serverUrlFlag,
      env: fromEnv ? [fromEnv] : undefined,
      file: listOrOne(file.ollama?.hosts, file.ollama?.host),
    },
    fromLegacy ?? ["http://127.0.0.1:11434"],
  );
  return {
    host: serverUrls[0],
    hosts: serverUrls,
    keepAlive: file.ollama?.keep_alive,
    timeouts: serverTimeouts(file.ollama),
  };
}

/**
 * The OpenAI-compatible servers: `--host`, else OPENAI_BASE_URL, else the file's `base_urls` or
 * `base_url`, else llama.cpp's default port.
 */
function openaiSettings(
  file: ConfigFile,
  env: NodeJS.ProcessEnv,
  serverUrlFlag: string[] | undefined,
): BuilderConfig["openai"] {
  if (file.openai?.base_url && file.openai.base_urls)
    throw new ConfigError("Give openai.base_url or openai.base_urls in builder.config.json, not both.");
  const baseUrls = loadSetting(
    {
      flag: serverUrlFlag,
      env: env.OPENAI_BASE_URL ? [env.OPENAI_BASE_URL] : undefined,
      file: listOrOne(file.openai?.base_urls, file.openai?.base_url),
    },
    ["http://127.0.0.1:8080/v1"],
  );
  return {
    baseUrl: baseUrls[0],
    baseUrls,
    apiKeyEnv: file.openai?.api_key_env ?? "OPENAI_API_KEY",
    timeouts: serverTimeouts(file.openai),
  };
}

/** A config key that takes a list or, under its singular name, one value. */
function listOrOne(list: string[] | undefined, one: string | undefined): string[] | undefined {
  return list ?? (one ? [one] : undefined);
}

function serverTimeouts(
  section: { connect_timeout_ms?: number; load_timeout_ms?: number; idle_timeout_ms?: number } | undefined,
): ServerTimeouts {
  return {
    connectMs: section?.connect_timeout_ms ?? DEFAULT_SERVER_TIMEOUTS.connectMs,
    loadMs: section?.load_timeout_ms ?? DEFAULT_SERVER_TIMEOUTS.loadMs,
    idleMs: section?.idle_timeout_ms ?? DEFAULT_SERVER_TIMEOUTS.idleMs,
  };
}

/** `--host a,b`: one server URL or several separated by commas; bare `host:port` gets http://. */
function parseServerUrlList(value: string): string[] {
  const serverUrls = value
    .split(",")
    .map((h) => h.trim())
    .filter((h) => h !== "")
    .map((h) => normaliseOllamaHost(h) ?? h);
  for (const serverUrl of serverUrls) {
    if (!URL.canParse(serverUrl))
      throw new ConfigError(
        `--host "${serverUrl}" is not a URL. Use e.g. http://127.0.0.1:11434 (several separated by commas).`,
      );
  }
  if (serverUrls.length === 0)
    throw new ConfigError("--host is empty. Give a server URL such as http://127.0.0.1:11434.");
  return serverUrls;
}

/**
 * The file's options, with Ollama's `num_gpu` read by the same rule as in `.ollamarc` (see
 * resolveGpuKeys): a layer count, or a GPU number when it sits beside a larger `gpu_layers` or `gpu_index`.
 */
function fileOptions(
  file: ConfigFile,
  source: string,
  warnings: string[],
): { options: GenerationOptionsInput; gpuIndex?: number } {
  const { num_gpu: numGpu, gpu_layers: gpuLayers, ...rest } = file.options ?? {};
  const resolved = resolveGpuKeys({ numGpu, gpuLayers, gpuIndex: file.gpu_index }, `${source}: options`);
  warnings.push(...resolved.warnings);
  return {
    options: resolved.gpuLayers !== undefined ? { ...rest, gpu_layers: resolved.gpuLayers } : rest,
    gpuIndex: resolved.gpuIndex,
  };
}

/** Refuses a workspace that is not an existing folder, before anything is written under it. */
function requireFolder(dir: string, what: string): void {
  let isDirectory = false;
  try {
    isDirectory = statSync(dir).isDirectory();
  } catch {
    // missing: reported below
  }
  if (!isDirectory) {
    throw new ConfigError(`${what}: ${dir} is not an existing folder. Check the path; nothing was created.`, {
      path: dir,
    });
  }
}

function readConfigFile(configPath: string, notes: string[]): ConfigFile {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (error) {
    throw new ConfigError(`${configPath} is not valid JSON (${(error as Error).message}). Fix the file or remove it.`, {
      path: configPath,
    });
  }
  return validateConfig(raw, configPath, notes);
}

function validateConfig(raw: unknown, configPath: string, notes: string[]): ConfigFile {
  if (isAgentSystemConfig(raw)) {
    // The seed's multi-agent config.json: Builder plays its `builder` role (see agent-system.ts).
    const mapping = fromAgentSystemConfig(raw, configPath);
    notes.push(
      `${configPath} is an agent-system config: read the builder role (${mapping.mapped.join("; ")}); ignored ${mapping.dropped.join("; ")}. builder init writes it as builder.config.json.`,
    );
    raw = mapping.config;
  }
  const parsed = ConfigFileSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`${configPath} is invalid: ${describeIssues(parsed.error)}.`, { path: configPath });
  }
  return parsed.data;
}

function resolveModelRef(ref: string, baseDir: string): string {
  if (!isLocalPathRef(ref)) return ref;
  // A bare Ollama-style name ("qwen2.5-coder:7b") is not a path; a GGUF reference ends in .gguf or has a slash.
  if (!ref.toLowerCase().endsWith(".gguf") && !ref.includes("/") && !ref.includes("\\")) return ref;
  return path.resolve(baseDir, ref);
}

/** True for an http(s) URL with a host name. */
function isHttpUrl(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
}

function normaliseOllamaHost(value: string | undefined): string | undefined {
  if (!value) return undefined;
  // OLLAMA_HOST is often written "0.0.0.0:11434", "host:port" or a bare host, as Ollama itself accepts:
  // no scheme means http, no port means 11434, and the bind-all address means this machine.
  const withScheme = /^https?:\/\//.test(value) ? value : `http://${value}`;
  if (!URL.canParse(withScheme)) return withScheme; // reported as "not a URL" where hosts are checked
  const url = new URL(withScheme);
  if (url.port === "" && !/^https?:\/\/[^/]*:\d+/.test(value) && !/^https:/.test(value)) url.port = "11434";
  if (url.hostname === "0.0.0.0") url.hostname = "127.0.0.1";
  return url.href.replace(/\/+$/, "");
}

function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const base = env.XDG_CACHE_HOME || path.join(homedir(), ".cache");
  return path.join(base, "builder", "models");
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
