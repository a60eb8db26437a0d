import { ANSWER_FORMATS, EDIT_MODES, type AnswerFormat, type EditMode } from "../answer/changes.js";
import { Option, type Command } from "commander";
import { BACKEND_NAMES, type BackendName, type GenerationOptionsInput } from "../config/schema.js";
import { loadConfig, type BuilderConfig, type ConfigOverrides } from "../config/load.js";
import { UsageError } from "../errors/errors.js";
import { LOG_LEVELS, createLogger, getLogger, setLogger } from "../telemetry/logger.js";

/** Flags every command that runs a model accepts. */
export interface ModelFlags {
  config?: string;
  backend?: BackendName;
  model?: string;
  workspace?: string;
  host?: string;
  numCtx?: number | "auto";
  numPredict?: number | "auto";
  threads?: number;
  temperature?: number;
  gpuLayers?: number;
  seed?: number;
  boundedAnswer?: boolean;
  answerFormat?: AnswerFormat;
  edits?: EditMode;
  logLevel?: string;
  quiet?: boolean;
}

/** Levels `--log-level` accepts (pino's). */
export { LOG_LEVELS };

/** `--log-level <level>`, limited to the levels the logger knows (anything else is a usage error, exit 2). */
export function logLevelOption(): Option {
  return new Option("--log-level <level>", "stderr log level (default info, or BUILDER_LOG_LEVEL)").choices([
    ...LOG_LEVELS,
  ]);
}

/** Adds the model/config flags to a command. */
export function addModelFlags(command: Command): Command {
  return command
    .option("-c, --config <file>", "builder.config.json to use (default: found by walking up from the current folder)")
    .addOption(new Option("-b, --backend <name>", "model backend").choices([...BACKEND_NAMES]))
    .option("--model <ref>", "GGUF path, hf: URI or URL (embedded), or model name (ollama/openai)")
    .option("-w, --workspace <dir>", "workspace root")
    .option(
      "--host <url>",
      "model server URL for the ollama/openai backends; several, separated by commas, make a pool",
    )
    .option(
      "--num-ctx <tokens>",
      "context window in tokens, or auto (the default: the smallest of 8K…128K that holds the task)",
      toIntOrAuto("--num-ctx"),
    )
    .option(
      "--num-predict <tokens>",
      "the most tokens the answer may use, or auto (the default: the room left, up to 8192)",
      toIntOrAuto("--num-predict"),
    )
    .option(
      "--threads <n>",
      "CPU threads, a positive whole number (default, or 0 / auto: measured once per machine and model)",
      toThreads,
    )
    .option("--temperature <t>", "sampling temperature", toNumber("--temperature"))
    .option("--gpu-layers <n>", "layers to offload to the GPU", toInt("--gpu-layers"))
    .option("--seed <n>", "sampling seed", toInt("--seed"))
    .option(
      "--bounded-answer",
      "bound the answer by --num-predict in the worst case, for models that never stop (random test models)",
    )
    .option(
      "--no-bounded-answer",
      "do not bound the answer (the default): a real model stops by itself, a cut answer fails as truncated",
    )
    .addOption(
      new Option(
        "--answer-format <format>",
        "how the model answers: text blocks under a grammar, or JSON (default auto: per backend)",
      ).choices([...ANSWER_FORMATS]),
    )
    .addOption(
      new Option("--edits <mode>", "search/replace edits or whole files (default auto: search-replace)").choices([
        ...EDIT_MODES,
      ]),
    )
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr");
}

/** Adds the flags of commands that touch the workspace but run no model (apply, undo). */
export function addWorkspaceFlags(command: Command): Command {
  return command
    .option("-c, --config <file>", "builder.config.json to use (default: found by walking up from the current folder)")
    .option("-w, --workspace <dir>", "workspace root (default: the config's folder, else the nearest folder with .git)")
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr");
}

/**
 * Applies --log-level / --quiet, then loads the configuration with the flags (and a command's own
 * `extra` overrides). Commands run the embedded backend on the machine's Builder host (keep_alive 0:
 * in-process); library callers, which load their configuration themselves, run in-process.
 */
export function configFromFlags(
  flags: ModelFlags,
  extra: Pick<ConfigOverrides, "verify" | "keepAlive"> = {},
): BuilderConfig {
  applyLogFlags(flags);
  const config = loadConfig({ configPath: flags.config, overrides: { ...overridesFromFlags(flags), ...extra } });
  const logger = getLogger();
  for (const note of config.notes ?? []) logger.info(note);
  for (const warning of config.warnings) logger.warn(warning);
  return config.engine ? { ...config, engine: { ...config.engine, host: true } } : config;
}

/** Applies --log-level / --quiet to the process-wide logger. */
export function applyLogFlags(flags: Pick<ModelFlags, "logLevel" | "quiet">): void {
  if (flags.logLevel || flags.quiet) {
    setLogger(createLogger({ level: (flags.logLevel ?? "warn") as "warn" }));
  }
}

/** The config overrides the model flags ask for. */
export function overridesFromFlags(flags: ModelFlags): ConfigOverrides {
  const options: GenerationOptionsInput = {};
  if (flags.numCtx !== undefined) options.num_ctx = flags.numCtx;
  if (flags.numPredict !== undefined) options.num_predict = flags.numPredict;
  if (flags.threads !== undefined) options.num_thread = flags.threads;
  if (flags.temperature !== undefined) options.temperature = flags.temperature;
  if (flags.gpuLayers !== undefined) options.gpu_layers = flags.gpuLayers;
  if (flags.seed !== undefined) options.seed = flags.seed;
  return {
    backend: flags.backend,
    model: flags.model,
    workspace: flags.workspace,
    serverUrls: flags.host,
    options,
    boundedAnswer: flags.boundedAnswer,
    answerFormat: flags.answerFormat,
    edits: flags.edits,
  };
}

/** A commander parser for whole numbers that names the flag in its error. */
export function toInt(flag: string): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isInteger(number)) throw new UsageError(`${flag} must be a whole number, got "${value}".`);
    return number;
  };
}

/** A whole number, or `auto` (Builder picks: see `num_ctx` / `num_predict`). */
export function toIntOrAuto(flag: string): (value: string) => number | "auto" {
  const toNumber = toInt(flag);
  return (value) => (value.trim().toLowerCase() === "auto" ? "auto" : toNumber(value));
}

/**
 * `--threads`: a positive whole number, or `0` / `auto` for the measured count (the default). A
 * negative or fractional count is refused: llama.cpp would run far slower than it should.
 */
export function toThreads(value: string): number | undefined {
  const text = value.trim().toLowerCase();
  if (text === "auto" || text === "0") return undefined;
  const number = Number(text);
  if (!Number.isInteger(number) || number < 1) {
    throw new UsageError(
      `--threads must be a positive whole number, got "${value}". Use 0 or auto for the measured thread count (the default).`,
    );
  }
  return number;
}

/** A commander parser for numbers that names the flag in its error. */
export function toNumber(flag: string): (value: string) => number {
  return (value) => {
    const number = Number(value);
    if (!Number.isFinite(number)) throw new UsageError(`${flag} must be a number, got "${value}".`);
    return number;
  };
}

/** Collects a repeatable flag into a list. */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
