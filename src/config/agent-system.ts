import { ConfigError } from "../errors/errors.js";
import type { BackendName } from "./schema.js";

/** The roles of the multi-agent system Builder's seed came from; `builder` is the one Builder plays. */
export const AGENT_ROLES = ["planner", "architect", "builder", "tester", "reviewer"] as const;

/** A builder.config.json made from an agent-system `config.json`, and what was left out. */
export interface AgentSystemMapping {
  /** builder.config.json content (unvalidated: the loader validates it like any config). */
  config: Record<string, unknown>;
  /** "builder.ollama_local.model → model", one per key carried over. */
  mapped: string[];
  /** Keys and roles Builder does not use, each with the reason. */
  dropped: string[];
}

/**
 * True for the seed's agent-system `config.json`: an object with a `builder` role section (a key
 * builder.config.json does not have, so a real builder config is never misread).
 */
export function isAgentSystemConfig(raw: unknown): raw is Record<string, unknown> {
  return isObject(raw) && isObject(raw.builder);
}

/** Agent-system `mode` values and the backend each means. */
const MODES: Readonly<Record<string, BackendName>> = {
  ollama_local: "ollama",
  ollama: "ollama",
  ollama_remote: "ollama",
  llama_cpp: "embedded",
  local_gguf: "embedded",
  embedded: "embedded",
  openai: "openai",
  openai_compatible: "openai",
  vllm: "openai",
  lm_studio: "openai",
};

/** Generation settings a role section may carry, under Builder's names. */
const OPTION_KEYS = [
  "num_ctx",
  "num_predict",
  "temperature",
  "top_p",
  "top_k",
  "repeat_penalty",
  "seed",
  "num_thread",
  "num_batch",
  "gpu_layers",
] as const;

/**
 * Reads the `builder` role of an agent-system `config.json` as a builder.config.json: `mode` picks the
 * backend, the mode's section (`ollama_local: { model, url, num_ctx, temperature }`) gives the model,
 * the server and the options, and `gpu` is a GPU number (gpu_index). The other roles are dropped.
 */
export function fromAgentSystemConfig(raw: Record<string, unknown>, source: string): AgentSystemMapping {
  const builder = raw.builder as Record<string, unknown>;
  const mapped: string[] = [];
  const dropped = Object.keys(raw)
    .filter((key) => key !== "builder")
    .map(
      (key) =>
        `${key}: ${(AGENT_ROLES as readonly string[]).includes(key) ? "another agent's role; Builder plays only builder" : "not a role Builder knows"}`,
    );
  const mode = typeof builder.mode === "string" ? builder.mode : "ollama_local";
  const backend = MODES[mode.toLowerCase()];
  if (!backend) {
    throw new ConfigError(
      `${source}: builder.mode "${mode}" is not a mode Builder can run. Use one of: ${Object.keys(MODES).join(", ")}.`,
      { path: source, key: "builder.mode" },
    );
  }
  const config: Record<string, unknown> = { backend };
  mapped.push(`builder.mode "${mode}" → backend "${backend}"`);
  const section = isObject(builder[mode]) ? builder[mode] : {};
  const options: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(section)) {
    const where = `builder.${mode}.${key}`;
    if (key === "model") {
      config.model = value;
      mapped.push(`${where} → model`);
    } else if (key === "url" || key === "host" || key === "base_url") {
      if (backend === "openai") config.openai = { base_url: value };
      else if (backend === "ollama") config.ollama = { host: value };
      else {
        dropped.push(`${where}: the embedded engine runs in-process, no server`);
        continue;
      }
      mapped.push(`${where} → ${backend}.${backend === "openai" ? "base_url" : "host"}`);
    } else if ((OPTION_KEYS as readonly string[]).includes(key)) {
      options[key] = value;
      mapped.push(`${where} → options.${key}`);
    } else {
      dropped.push(`${where}: not a Builder setting`);
    }
  }
  for (const [key, value] of Object.entries(builder)) {
    if (key === "mode" || key === mode) continue;
    if (key === "gpu" || key === "gpu_index") {
      config.gpu_index = value;
      mapped.push(
        `builder.${key} → gpu_index (GPU number${backend === "embedded" ? "" : "; a server picks its GPU from its own CUDA_VISIBLE_DEVICES"})`,
      );
    } else if ((OPTION_KEYS as readonly string[]).includes(key)) {
      options[key] = value;
      mapped.push(`builder.${key} → options.${key}`);
    } else {
      dropped.push(`builder.${key}: not a Builder setting`);
    }
  }
  if (Object.keys(options).length > 0) config.options = options;
  return { config, mapped, dropped };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
