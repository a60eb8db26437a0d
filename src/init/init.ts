import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { discoverKnowledge } from "../config/knowledge-discovery.js";
import { ConfigError } from "../errors/errors.js";
import { parseModelfile } from "../modelfile/syntax.js";
import { writeWithBackup } from "../workspace/backup-overwrite.js";
import { fromAgentSystemConfig, isAgentSystemConfig } from "../config/agent-system.js";
import { resolveGpuKeys } from "../config/gpu-keys.js";
import { parseOllamarc } from "../config/legacy-ollamarc.js";
import { CONFIG_FILE_NAME } from "../config/load.js";
import { describeIssues } from "../errors/describe-issues.js";
import { ConfigFileSchema } from "../config/schema.js";

/** What `builder init` found and what it will write. */
export interface InitPlan {
  /** The builder.config.json to write. */
  config: Record<string, unknown>;
  /** Absolute path it goes to. */
  target: string;
  /** The files it was made from (relative to the folder). */
  sources: string[];
  /** "source: key → Builder key", one line per setting carried over. */
  mapped: string[];
  /** "source: key: why", one line per setting left out. */
  dropped: string[];
}

/** Where the seed's agent-system config may sit. */
const AGENT_CONFIG_PATHS = ["config.json", "agents/config.json"];

/** Modelfile PARAMETERs that are Builder options of the same name. */
const MODELFILE_OPTIONS = new Set([
  "num_ctx",
  "num_predict",
  "temperature",
  "top_p",
  "top_k",
  "repeat_penalty",
  "seed",
  "num_thread",
  "num_batch",
]);

/**
 * Reads an existing setup in `dir` (an agent-system `config.json`, a `.ollamarc`, knowledge files at
 * the seed's path, a `Modelfile`) and plans the builder.config.json that says the same. Precedence is
 * the loader's: `.ollamarc` below the config; the Modelfile fills in only what neither set.
 */
export async function planInit(dir: string): Promise<InitPlan> {
  const root = path.resolve(dir);
  const config: Record<string, unknown> = {};
  const options: Record<string, unknown> = {};
  const plan: InitPlan = { config, target: path.join(root, CONFIG_FILE_NAME), sources: [], mapped: [], dropped: [] };
  await mapOllamarc(root, config, options, plan);
  await mapAgentConfig(root, config, options, plan);
  const modelfile = path.join(root, "Modelfile");
  if (existsSync(modelfile)) {
    plan.sources.push("Modelfile");
    mapModelfile(await readFile(modelfile, "utf8"), config, options, plan);
  }
  // Said in the file, so that the loader stops reading the `.ollamarc` whose keys are now here.
  if (plan.sources.length > 0) config.migrated_from = [...plan.sources];
  const knowledge = discoverKnowledge(root).map((file) => path.relative(root, file).split(path.sep).join("/"));
  if (knowledge.length > 0) {
    config.knowledge = knowledge;
    plan.sources.push(...knowledge);
    plan.mapped.push(...knowledge.map((file) => `${file} → knowledge`));
  }
  if (Object.keys(options).length > 0) config.options = options;
  if (plan.sources.length === 0) {
    throw new ConfigError(
      `Nothing to migrate in ${root}: no config.json with a builder role, .ollamarc, Modelfile or agents/ollama-knowledge/ files.`,
      { path: root },
    );
  }
  const parsed = ConfigFileSchema.safeParse(config);
  if (!parsed.success) {
    throw new ConfigError(
      `The settings found in ${plan.sources.join(", ")} do not make a valid builder.config.json: ${describeIssues(parsed.error)}. Fix them and run builder init again.`,
      { path: root },
    );
  }
  return plan;
}

/** The folder's `.ollamarc`, the lowest layer: its options, its GPU number, model and host. */
async function mapOllamarc(
  root: string,
  config: Record<string, unknown>,
  options: Record<string, unknown>,
  plan: InitPlan,
): Promise<void> {
  const rcPath = path.join(root, ".ollamarc");
  if (!existsSync(rcPath)) return;
  plan.sources.push(".ollamarc");
  const legacy = parseOllamarc(await readFile(rcPath, "utf8"), ".ollamarc");
  for (const [key, value] of Object.entries(legacy.options)) {
    options[key] = value;
    plan.mapped.push(`.ollamarc: ${key} → options.${key}`);
  }
  if (legacy.gpuIndex !== undefined) {
    config.gpu_index = legacy.gpuIndex;
    plan.mapped.push(`.ollamarc: gpu / num_gpu → gpu_index ${legacy.gpuIndex}`);
  }
  if (legacy.model) config.model = legacy.model;
  if (legacy.host) config.ollama = { host: legacy.host };
  plan.dropped.push(...legacy.warnings.filter((w) => !/read as GPU number/.test(w)));
}

/** The first agent-system `config.json` with a builder role, above the `.ollamarc`. */
async function mapAgentConfig(
  root: string,
  config: Record<string, unknown>,
  options: Record<string, unknown>,
  plan: InitPlan,
): Promise<void> {
  for (const relative of AGENT_CONFIG_PATHS) {
    const file = path.join(root, relative);
    if (!existsSync(file)) continue;
    const raw: unknown = JSON.parse(await readFile(file, "utf8"));
    if (!isAgentSystemConfig(raw)) continue;
    plan.sources.push(relative);
    const mapping = fromAgentSystemConfig(raw, relative);
    const { options: agentOptions, ...rest } = mapping.config;
    Object.assign(config, rest);
    Object.assign(options, agentOptions as Record<string, unknown> | undefined);
    plan.mapped.push(...mapping.mapped.map((line) => `${relative}: ${line}`));
    plan.dropped.push(...mapping.dropped.map((line) => `${relative}: ${line}`));
    return;
  }
}

function mapModelfile(
  text: string,
  config: Record<string, unknown>,
  options: Record<string, unknown>,
  plan: InitPlan,
): void {
  const { commands, error } = parseModelfile(text);
  if (error) {
    plan.dropped.push(`Modelfile: line ${error.line}: ${error.message}; the file was not read`);
    return;
  }
  for (const command of commands) {
    if (command.name === "model") {
      if (config.model === undefined) {
        config.model = command.args;
        plan.mapped.push(`Modelfile: FROM ${command.args} → model`);
      } else if (config.model !== command.args) {
        plan.dropped.push(
          `Modelfile: FROM ${command.args}: the config already names the model ${String(config.model)}`,
        );
      }
    } else if (command.name === "num_gpu") {
      const numGpu = Number(command.args);
      const resolved = resolveGpuKeys(
        {
          numGpu,
          gpuLayers: options.gpu_layers as number | undefined,
          gpuIndex: config.gpu_index as number | undefined,
        },
        "Modelfile",
      );
      if (options.gpu_layers === undefined && resolved.gpuLayers !== undefined) {
        options.gpu_layers = resolved.gpuLayers;
        plan.mapped.push(
          `Modelfile: PARAMETER num_gpu ${command.args} → options.gpu_layers (layers on the GPU, as Ollama reads it)`,
        );
      } else {
        plan.dropped.push(
          `Modelfile: PARAMETER num_gpu ${command.args}: gpu_layers ${String(options.gpu_layers)} and the GPU number are already set`,
        );
      }
    } else if (MODELFILE_OPTIONS.has(command.name)) {
      if (options[command.name] !== undefined) {
        plan.dropped.push(
          `Modelfile: PARAMETER ${command.name} ${command.args}: ${String(options[command.name]) === command.args ? "the same as" : `overridden by`} the config's ${String(options[command.name])}`,
        );
        continue;
      }
      options[command.name] = Number(command.args);
      plan.mapped.push(`Modelfile: PARAMETER ${command.name} ${command.args} → options.${command.name}`);
    } else if (command.name === "system") {
      plan.dropped.push(
        "Modelfile: SYSTEM: Builder writes its own instructions; put project rules in a knowledge file",
      );
    } else {
      plan.dropped.push(`Modelfile: ${command.name.toUpperCase()}: not a Builder setting`);
    }
  }
}

/** What {@link writeInit} did. */
export interface InitResult {
  written: string;
  /** Where the previous builder.config.json was copied, with `force`. */
  backup?: string;
}

/**
 * Writes the planned builder.config.json atomically. An existing one is kept unless `force`, which
 * copies it to `builder.config.json.bak-<time>` first.
 */
export async function writeInit(plan: InitPlan, options: { force?: boolean } = {}): Promise<InitResult> {
  if (existsSync(plan.target)) {
    if (!options.force) {
      throw new ConfigError(
        `${plan.target} already exists; nothing was written. Use --force to replace it (the old one is backed up), or --dry-run to see the result.`,
        { path: plan.target },
      );
    }
  }
  const { backup } = await writeWithBackup(plan.target, JSON.stringify(plan.config, null, 2) + "\n");
  return { written: plan.target, backup };
}
