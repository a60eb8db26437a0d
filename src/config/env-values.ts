import { describeIssues } from "../errors/describe-issues.js";
import { ConfigError } from "../errors/errors.js";
import {
  BACKEND_NAMES,
  GenerationOptionsSchema,
  GpuIndexSchema,
  type BackendName,
  type ConfigFile,
  type GenerationOptionsInput,
} from "./schema.js";

// Environment variables, each checked and converted to the type of the setting it overrides (unset or
// empty: undefined). A value that does not parse is a ConfigError naming the variable.

/** BUILDER_BACKEND, checked (unset: undefined). */
export function parseBackend(value: string | undefined): BackendName | undefined {
  if (value === undefined) return undefined;
  if (!(BACKEND_NAMES as readonly string[]).includes(value)) {
    throw new ConfigError(`BUILDER_BACKEND="${value}" is not a backend. Use one of: ${BACKEND_NAMES.join(", ")}.`);
  }
  return value as BackendName;
}

/** BUILDER_GPU_INDEX: nvidia-smi's number of the GPU. */
export function parseGpuIndex(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  const parsed = GpuIndexSchema.safeParse(Number(value));
  if (!parsed.success)
    throw new ConfigError(`BUILDER_GPU_INDEX="${value}" is not a GPU number. Use 0, 1, … (nvidia-smi's numbers).`);
  return parsed.data;
}

/** `BUILDER_NUM_CTX=8192` and friends: one variable per generation option. */
export function optionsFromEnv(env: NodeJS.ProcessEnv): GenerationOptionsInput {
  const raw: Record<string, number | boolean | string> = {};
  for (const key of Object.keys(GenerationOptionsSchema.shape)) {
    const value = env[`BUILDER_${key.toUpperCase()}`];
    if (value === undefined || value === "") continue;
    if (value === "true" || value === "false") raw[key] = value === "true";
    else if (value === "auto") raw[key] = value;
    else raw[key] = Number(value);
  }
  const parsed = GenerationOptionsSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(
      `Environment override invalid: ${describeIssues(parsed.error).replace(/(^|; )(\w+):/g, (_m, sep: string, key: string) => `${sep}BUILDER_${key.toUpperCase()}:`)}.`,
    );
  }
  return parsed.data;
}

/** A true/false variable (also 1/0). */
export function parseBoolean(value: string | undefined, name: string): boolean | undefined {
  if (value === undefined || value === "") return undefined;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new ConfigError(`${name}="${value}" is not valid. Use true or false.`);
}

/** BUILDER_GPU: a backend name, or false / cpu for none. */
export function parseGpu(value: string | undefined): ConfigFile["gpu"] {
  if (value === undefined || value === "") return undefined;
  if (value === "false" || value === "cpu") return false;
  if (value === "auto" || value === "cuda" || value === "vulkan" || value === "metal") return value;
  throw new ConfigError(`BUILDER_GPU="${value}" is not valid. Use auto, cuda, vulkan, metal or false.`);
}

/** An environment value that must be one of `choices` (unset: undefined). */
export function parseChoice<T extends string>(
  value: string | undefined,
  choices: readonly T[],
  name: string,
): T | undefined {
  if (value === undefined || value === "") return undefined;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${name}=${value} is not one of ${choices.join(", ")}.`, { [name]: value });
}
