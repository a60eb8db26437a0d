import { existsSync, statSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { resolveModelFile } from "node-llama-cpp";
import { ModelError } from "../errors/errors.js";
import { isLocalPathRef } from "../config/load.js";
import { getLogger } from "../telemetry/logger.js";
import { createDownloadProgress } from "./download-progress.js";

/** Options for {@link resolveModelPath}. */
export interface ResolveModelOptions {
  /** Folder where downloaded models are kept. */
  cacheDir: string;
  /** Show a progress bar on stderr (default: when stderr is a terminal). */
  progress?: boolean;
  signal?: AbortSignal;
}

/**
 * Turns a model reference into a local GGUF path. Files are used in place; `hf:` URIs and URLs are
 * downloaded once into the cache folder (the Hugging Face endpoint follows `HF_ENDPOINT`).
 */
export async function resolveModelPath(ref: string | undefined, options: ResolveModelOptions): Promise<string> {
  if (!ref) {
    throw new ModelError(
      "MODEL_NOT_CONFIGURED",
      'No model is configured. Set "model" in builder.config.json, BUILDER_MODEL, or --model to a .gguf file or an hf: URI ' +
        "(for example hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q4_k_m.gguf), " +
        "or run `builder demo` to see the pipeline with a synthesized model.",
    );
  }
  if (isLocalPathRef(ref)) {
    if (!existsSync(ref) || !statSync(ref).isFile()) {
      throw new ModelError("MODEL_NOT_FOUND", `Model file ${ref} does not exist. Check the "model" path, or give an hf: URI to download it.`, {
        model: ref,
      });
    }
    return ref;
  }
  await mkdir(options.cacheDir, { recursive: true });
  const logger = getLogger();
  const showBar = options.progress ?? Boolean(process.stderr.isTTY);
  const progress = createDownloadProgress(ref, showBar);
  try {
    const resolved = await resolveModelFile(ref, {
      directory: options.cacheDir,
      cli: false,
      onProgress: progress.update,
      signal: options.signal,
      endpoints: process.env.HF_ENDPOINT ? { huggingFace: process.env.HF_ENDPOINT } : undefined,
    });
    progress.finish();
    logger.info({ model: ref, path: resolved }, "model ready");
    return resolved;
  } catch (error) {
    progress.finish();
    const reason = error instanceof Error ? error.message : String(error);
    throw new ModelError(
      "MODEL_DOWNLOAD_FAILED",
      `Could not download model ${ref}: ${reason}. Without network access, download the .gguf file on another machine, ` +
        `copy it here, and set "model" to its path (or place it in ${options.cacheDir}).`,
      { model: ref, cacheDir: options.cacheDir },
      { cause: error },
    );
  }
}
