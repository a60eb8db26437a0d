import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { findConfigFile, loadConfig, type BuilderConfig, type ConfigOverrides } from "../config/load.js";
import { ConfigFileSchema, GenerationOptionsSchema } from "../config/schema.js";
import type { DoctorCheck } from "./types.js";

/** The configuration as doctor sees it: the effective config (if any could be built), its check, and the raw options. */
export interface DoctorConfig {
  config?: BuilderConfig;
  check: DoctorCheck;
  /** `options` as written in builder.config.json, unvalidated (pitfalls hide in keys the schema rejects). */
  rawOptions: Record<string, unknown>;
}

/** Options for {@link loadDoctorConfig}. */
export interface DoctorConfigOptions {
  cwd?: string;
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
}

/**
 * Loads the configuration like every command does, but does not stop at the first invalid entry:
 * when the file is invalid, the check fails with the loader's message and the other checks run on a
 * copy without the invalid entries.
 */
export function loadDoctorConfig(options: DoctorConfigOptions): DoctorConfig {
  const cwd = path.resolve(options.cwd ?? process.cwd());
  const configPath = options.configPath ? path.resolve(cwd, options.configPath) : findConfigFile(cwd);
  const raw = configPath && existsSync(configPath) ? readJson(configPath) : undefined;
  const rawOptions = isRecord(raw) && isRecord(raw.options) ? raw.options : {};
  const load = (fileContent?: unknown): BuilderConfig =>
    loadConfig({ cwd, configPath: options.configPath, env: options.env, overrides: options.overrides, fileContent });
  try {
    const config = load();
    const where = config.configPath
      ? `${config.configPath} is valid`
      : "No builder.config.json found; using defaults, .ollamarc and the environment";
    return {
      config,
      rawOptions,
      check: { id: "config", status: "ok", message: `${where} (backend ${config.backend}).` },
    };
  } catch (error) {
    const check: DoctorCheck = {
      id: "config",
      status: "fail",
      message: (error as Error).message,
      fix: "Fix the entries named above. The checks below ran without them.",
    };
    for (const fallback of isRecord(raw) ? [withoutInvalidEntries(raw), {}] : [{}]) {
      try {
        return { config: load(fallback), rawOptions, check };
      } catch {
        // try the next, smaller fallback
      }
    }
    return { rawOptions, check };
  }
}

/** A copy of a config object keeping only the entries (and options) that are valid on their own. */
export function withoutInvalidEntries(raw: Record<string, unknown>): Record<string, unknown> {
  const shape = ConfigFileSchema.shape as Record<
    string,
    { safeParse(value: unknown): { success: boolean } } | undefined
  >;
  const optionShape = GenerationOptionsSchema.shape as Record<
    string,
    { safeParse(value: unknown): { success: boolean } } | undefined
  >;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === "options" && isRecord(value)) {
      kept.options = Object.fromEntries(
        Object.entries(value).filter(([name, v]) => optionShape[name]?.safeParse(v).success === true),
      );
      continue;
    }
    if (shape[key]?.safeParse(value).success === true) kept[key] = value;
  }
  return kept;
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
