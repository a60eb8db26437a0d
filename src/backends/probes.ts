// What `builder doctor` asks each backend kind: does it answer, and is the configured model there?
// Each kind answers in its own way (the embedded engine loads llama.cpp and reads the GGUF, Ollama
// lists its pulled models, an OpenAI-compatible server its /v1/models), so the choice by name is here.
import type { BuilderConfig } from "../config/load.js";
import { isLocalPathRef } from "../config/model-ref.js";
import { BuilderError } from "../errors/errors.js";
import { formatBytes } from "../format/numbers.js";
import { readGgufFacts, factsFromOllamaModelInfo, type ModelFacts } from "../models/model-shape.js";
import { findCachedModelPath, localModelProblem } from "../models/resolve-model.js";
import { hasOllamaModel, type OllamaAdmin } from "../server-admin/ollama-admin.js";
import { listOpenAiModels } from "../server-admin/openai-models.js";
import { getLlamaRuntime } from "./embedded/llama-runtime.js";

/** One finding, shaped as the doctor's checks are. */
export interface ProbeCheck {
  /** "backend" or "model". */
  id: string;
  status: "ok" | "warn" | "fail";
  message: string;
  fix?: string;
  details?: Record<string, unknown>;
}

/** The backend check plus what it learned for the later checks. */
export interface BackendProbe {
  check: ProbeCheck;
  /** Model names the server serves (ollama / openai), when it answered. */
  served?: string[];
}

/** The model check plus the model's facts when they could be read. */
export interface ModelProbe {
  check: ProbeCheck;
  facts?: ModelFacts;
}

/** Does the configured backend answer? */
export async function probeBackend(config: BuilderConfig, ollama: OllamaAdmin): Promise<BackendProbe> {
  switch (config.backend) {
    case "embedded":
      return probeEmbeddedEngine(config);
    case "ollama":
      return probeOllama(ollama);
    case "openai":
      return probeOpenAi(config);
  }
}

async function probeEmbeddedEngine(config: BuilderConfig): Promise<BackendProbe> {
  try {
    const llama = await getLlamaRuntime(config.gpu, config.gpuIndex);
    const compute = llama.gpu === false ? "CPU only" : `GPU via ${llama.gpu}`;
    return {
      check: {
        id: "backend",
        status: "ok",
        message: `Embedded llama.cpp loads (${compute}, ${llama.cpuMathCores} math cores).`,
        details: { gpu: llama.gpu },
      },
    };
  } catch (error) {
    return {
      check: {
        id: "backend",
        status: "fail",
        message: `The embedded llama.cpp engine does not load: ${(error as Error).message}`,
        fix: 'Reinstall with `npm ci` (node-llama-cpp ships prebuilt binaries), or set "gpu": false in builder.config.json to use the CPU build.',
      },
    };
  }
}

async function probeOllama(ollama: OllamaAdmin): Promise<BackendProbe> {
  try {
    const version = await ollama.version();
    const models = await ollama.listModels();
    return {
      check: {
        id: "backend",
        status: "ok",
        message: `Ollama ${version} answers at ${ollama.host} (${models.length} model${models.length === 1 ? "" : "s"} pulled).`,
        details: { version },
      },
      served: models.map((m) => m.name),
    };
  } catch (error) {
    return {
      check: failFromError("backend", error, "Start Ollama (`ollama serve`) or fix ollama.host / OLLAMA_HOST."),
    };
  }
}

async function probeOpenAi(config: BuilderConfig): Promise<BackendProbe> {
  try {
    const apiKey = process.env[config.openai.apiKeyEnv];
    const models = await listOpenAiModels(config.openai.baseUrl, apiKey);
    return {
      check: {
        id: "backend",
        status: "ok",
        message: `The OpenAI-compatible server at ${config.openai.baseUrl} answers (${models.length} model${models.length === 1 ? "" : "s"}).`,
      },
      served: models,
    };
  } catch (error) {
    return { check: failFromError("backend", error, "Start the server or fix openai.base_url / OPENAI_BASE_URL.") };
  }
}

/** Is the configured model there (file, cache, pulled, served), and what shape is it? */
export async function probeModel(
  config: BuilderConfig,
  backend: BackendProbe,
  ollama: OllamaAdmin,
): Promise<ModelProbe> {
  const ref = config.model;
  if (!ref) {
    return {
      check: {
        id: "model",
        status: "fail",
        message: "No model is configured.",
        fix: 'Set "model" in builder.config.json (a .gguf path, an hf: URI, or an Ollama model name), BUILDER_MODEL, or --model. `builder models --recommend` suggests one for this machine.',
      },
    };
  }
  if (config.backend === "embedded") return probeEmbeddedModel(ref, config.modelCacheDir);
  if (backend.served === undefined) {
    return { check: { id: "model", status: "warn", message: `Model ${ref} not checked: the server did not answer.` } };
  }
  if (config.backend === "openai") {
    return backend.served.includes(ref)
      ? { check: { id: "model", status: "ok", message: `The server serves ${ref}.` } }
      : {
          check: {
            id: "model",
            status: "fail",
            message: `The server does not list ${ref} in /v1/models (it lists: ${backend.served.slice(0, 8).join(", ") || "nothing"}).`,
            fix: "Set model to one of the listed ids, or load the model on the server.",
          },
        };
  }
  return probeOllamaModel(ref, ollama);
}

/** Has Ollama pulled `ref`, and what does /api/show tell of its shape? */
async function probeOllamaModel(ref: string, ollama: OllamaAdmin): Promise<ModelProbe> {
  const models = await ollama.listModels().catch(() => []);
  if (!hasOllamaModel(models, ref)) {
    return {
      check: {
        id: "model",
        status: "fail",
        message: `Ollama at ${ollama.host} has not pulled ${ref}.`,
        fix: `Run \`ollama pull ${ref}\` (or pick a pulled model: builder models).`,
      },
    };
  }
  const summary = models.find((m) => hasOllamaModel([m], ref));
  let facts: ModelFacts | undefined;
  try {
    const details = await ollama.show(ref);
    facts = factsFromOllamaModelInfo(details.modelInfo, summary?.sizeBytes ?? 0, details.quantization);
  } catch {
    facts = undefined;
  }
  const size = summary ? `, ${formatBytes(summary.sizeBytes)}` : "";
  return {
    check: {
      id: "model",
      status: "ok",
      message: `Ollama has ${ref} (${summary?.quantization ?? "unknown quantization"}${size}).`,
    },
    facts,
  };
}

async function probeEmbeddedModel(ref: string, cacheDir: string): Promise<ModelProbe> {
  let filePath: string | undefined;
  if (isLocalPathRef(ref)) {
    const problem = localModelProblem(ref);
    if (problem)
      return {
        check: {
          id: "model",
          status: "fail",
          message: problem,
          fix: 'Fix the "model" path, or give an hf: URI to download it.',
        },
      };
    filePath = ref;
  } else {
    filePath = await findCachedModelPath(ref, cacheDir);
    if (!filePath) return probeDownload(ref, cacheDir);
  }
  try {
    const facts = await readGgufFacts(filePath);
    return {
      check: {
        id: "model",
        status: "ok",
        message: `${filePath}: ${facts.architecture}, ${facts.layers} layers, ${facts.quantization ?? "unknown quantization"}, ${formatBytes(facts.weightsBytes)}${facts.contextLength ? `, trained context ${facts.contextLength}` : ""}.`,
        details: { path: filePath },
      },
      facts,
    };
  } catch (error) {
    return { check: failFromError("model", error, "Re-download the file; a partial download is not a valid GGUF.") };
  }
}

/** A model that is not cached yet: is the host it downloads from reachable? */
async function probeDownload(ref: string, cacheDir: string): Promise<ModelProbe> {
  const url = ref.startsWith("hf:") ? (process.env.HF_ENDPOINT ?? "https://huggingface.co") : ref;
  try {
    await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(3000) });
    return {
      check: {
        id: "model",
        status: "ok",
        message: `${ref} is not downloaded yet; the first run downloads it into ${cacheDir}.`,
      },
    };
  } catch (error) {
    return {
      check: {
        id: "model",
        status: "fail",
        message: `${ref} is not in ${cacheDir} and ${new URL(url).host} is not reachable (${(error as Error).message}).`,
        fix: `Download the .gguf on a connected machine, copy it here, and set "model" to its path (or place it in ${cacheDir}).`,
      },
    };
  }
}

function failFromError(id: string, error: unknown, fix: string): ProbeCheck {
  const message = error instanceof Error ? error.message : String(error);
  return {
    id,
    status: "fail",
    message,
    fix,
    details: error instanceof BuilderError ? { code: error.code } : undefined,
  };
}
