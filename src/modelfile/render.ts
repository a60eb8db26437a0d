import type { GenerationOptions } from "../config/schema.js";
import { PARAMETER_TYPES, quoteText } from "./syntax.js";

/** A PARAMETER value as the create API takes it. */
export type ParameterValue = number | boolean | string;

/** Everything a Modelfile (and Ollama's create API) carries for Builder. */
export interface ModelfileParts {
  from: string;
  /** Ollama parameter name → value, in the order they are written. */
  parameters: Array<[string, ParameterValue]>;
  system?: string;
  messages: Array<{ role: "user" | "assistant"; content: string }>;
  /** Comment lines written at the top (provenance, omitted settings). */
  comments: string[];
}

/** Builder option → Ollama PARAMETER name; options missing here have no Ollama equivalent in a Modelfile. */
const OLLAMA_PARAMETER: Readonly<Partial<Record<keyof GenerationOptions, string>>> = {
  num_ctx: "num_ctx",
  num_predict: "num_predict",
  temperature: "temperature",
  top_p: "top_p",
  top_k: "top_k",
  repeat_penalty: "repeat_penalty",
  seed: "seed",
  num_thread: "num_thread",
  num_batch: "num_batch",
  gpu_layers: "num_gpu",
  use_mmap: "use_mmap",
};

/** Why an option is left out of the Modelfile. */
const OMITTED: Readonly<Partial<Record<keyof GenerationOptions, string>>> = {
  use_mlock: "use_mlock is deprecated in Ollama (it ignores it)",
};

/** Builder's generation options as Ollama PARAMETER lines (only names Ollama reads), plus what was left out. */
export function parametersFromOptions(options: GenerationOptions): {
  parameters: Array<[string, ParameterValue]>;
  omitted: string[];
} {
  const parameters: Array<[string, ParameterValue]> = [];
  const omitted: string[] = [];
  for (const [key, value] of Object.entries(options) as Array<[keyof GenerationOptions, ParameterValue | undefined]>) {
    if (value === undefined) continue;
    const name = OLLAMA_PARAMETER[key];
    if (name && PARAMETER_TYPES[name]) parameters.push([name, value]);
    else omitted.push(OMITTED[key] ?? `${key} has no Ollama parameter`);
  }
  return { parameters, omitted };
}

/** The Modelfile text, and what quoting had to change in the SYSTEM and MESSAGE texts. */
export interface RenderedModelfile {
  text: string;
  changes: string[];
}

/** Writes the Modelfile: comments, FROM, PARAMETER lines, SYSTEM, then MESSAGE pairs; every text in `"""`. */
export function renderModelfile(parts: ModelfileParts): RenderedModelfile {
  const changes = new Set<string>();
  const quote = (text: string): string => {
    const quoted = quoteText(text);
    for (const change of quoted.changes) changes.add(change);
    return quoted.value;
  };
  const lines = parts.comments.map((comment) => `# ${comment.replace(/\r?\n/g, " ")}`);
  lines.push(`FROM ${parts.from}`);
  for (const [name, value] of parts.parameters)
    lines.push(`PARAMETER ${name} ${typeof value === "string" ? `"${value}"` : String(value)}`);
  if (parts.system !== undefined) lines.push(`SYSTEM ${quote(parts.system)}`);
  for (const message of parts.messages) lines.push(`MESSAGE ${message.role} ${quote(message.content)}`);
  return { text: lines.join("\n") + "\n", changes: [...changes] };
}
