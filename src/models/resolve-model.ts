import { existsSync, readdirSync, statSync, type Stats } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { ModelError } from "../errors/errors.js";
import { isLocalPathRef } from "../config/model-ref.js";
import { getLogger } from "../telemetry/logger.js";
import { createDownloadProgress } from "./download-progress.js";
import { DownloadWatchdog, defaultWatchdogOptions } from "./download-watchdog.js";

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
        "or run `builder demo` to see the pipeline with a synthesized model." +
        // The seed's setup sets OLLAMA_MODEL and expects it to be used: say where it applies.
        (process.env.OLLAMA_MODEL
          ? ` OLLAMA_MODEL=${process.env.OLLAMA_MODEL} is set, but it applies to --backend ollama (or BUILDER_BACKEND=ollama), not to the embedded engine.`
          : "") +
        legacySetupHint(process.cwd()),
    );
  }
  if (isLocalPathRef(ref)) {
    const problem = localModelProblem(ref);
    if (problem)
      throw new ModelError("MODEL_NOT_FOUND", `${problem} Check the "model" path, or give an hf: URI to download it.`, {
        model: ref,
      });
    return ref;
  }
  await mkdir(options.cacheDir, { recursive: true });
  const endpoints = process.env.HF_ENDPOINT ? { huggingFace: process.env.HF_ENDPOINT } : undefined;
  const fileName = cacheFileNameForUrl(ref);
  const cached = await findCachedModel(ref, options.cacheDir, fileName, endpoints);
  if (cached) return cached;
  await assertReachable(ref, options.cacheDir);
  const logger = getLogger();
  const showBar = options.progress ?? Boolean(process.stderr.isTTY);
  const progress = createDownloadProgress(ref, showBar);
  const watchdog = new DownloadWatchdog(defaultWatchdogOptions());
  try {
    const { resolveModelFile } = await loadLlamaBindings();
    const download = resolveModelFile(ref, {
      directory: options.cacheDir,
      cli: false,
      onProgress: (status) => {
        watchdog.progress(status.downloadedSize);
        progress.update(status);
      },
      signal: options.signal,
      fileName,
      endpoints,
    });
    download.catch(() => undefined);
    const resolved = await Promise.race([download, watchdog.failed]);
    watchdog.stop();
    progress.finish();
    logger.info({ model: ref, path: resolved }, "model ready");
    return resolved;
  } catch (error) {
    watchdog.stop();
    progress.finish();
    throw downloadFailed(ref, options.cacheDir, error);
  }
}

/**
 * Why a local model path cannot be a model file (undefined when it is a regular file): it is missing,
 * a folder (naming the .gguf files in it), or a device, pipe or socket.
 */
export function localModelProblem(ref: string): string | undefined {
  let stats: Stats;
  try {
    stats = statSync(ref);
  } catch {
    return `Model file ${ref} does not exist.`;
  }
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) {
    let ggufs: string[] = [];
    try {
      ggufs = readdirSync(ref)
        .filter((name) => name.toLowerCase().endsWith(".gguf"))
        .sort();
    } catch {
      // an unreadable folder: say what it is all the same
    }
    const inside =
      ggufs.length > 0
        ? `; it holds ${ggufs
            .slice(0, 5)
            .map((name) => path.join(ref, name))
            .join(", ")}: give one of those`
        : "; it holds no .gguf file: give the path of a .gguf file";
    return `Model path ${ref} is a folder, not a GGUF file${inside}.`;
  }
  return `Model path ${ref} is not a regular file (a device, pipe or socket): give the path of a .gguf file.`;
}

/**
 * The cached local copy of an `hf:` URI or URL, found without touching the network; undefined when
 * it has not been downloaded yet. (`builder doctor` and `builder modelfile` use it.)
 */
export async function findCachedModelPath(ref: string, cacheDir: string): Promise<string | undefined> {
  const endpoints = process.env.HF_ENDPOINT ? { huggingFace: process.env.HF_ENDPOINT } : undefined;
  return findCachedModel(ref, cacheDir, cacheFileNameForUrl(ref), endpoints);
}

type Endpoints = { huggingFace: string } | undefined;

/** A plain URL's file keeps its own name in the cache, so a second run finds it without asking the server. */
function cacheFileNameForUrl(ref: string): string | undefined {
  if (!/^https?:\/\//i.test(ref)) return undefined;
  const base = decodeURIComponent(new URL(ref).pathname.split("/").pop() ?? "");
  const safe = base.replace(/[^\w.+-]/g, "_");
  return safe.toLowerCase().endsWith(".gguf") ? safe : undefined;
}

/** The cached copy of a model, found without touching the network (so cached models work offline). */
async function findCachedModel(
  ref: string,
  cacheDir: string,
  fileName: string | undefined,
  endpoints: Endpoints,
): Promise<string | undefined> {
  // A .gguf downloaded elsewhere and placed in the cache under its own name (as the README says to).
  const plain = plainCacheName(ref);
  if (plain && statSync(path.join(cacheDir, plain), { throwIfNoEntry: false })?.isFile())
    return path.join(cacheDir, plain);
  try {
    const { resolveModelFile } = await loadLlamaBindings();
    return await resolveModelFile(ref, { directory: cacheDir, cli: false, download: false, fileName, endpoints });
  } catch {
    return undefined;
  }
}

/**
 * The file name a downloaded model has on its own: the last segment of an `hf:` URI or URL ending in
 * `.gguf` (`hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q4_k_m.gguf` →
 * `qwen2.5-coder-7b-instruct-q4_k_m.gguf`); undefined for a reference that names no file.
 */
export function plainCacheName(ref: string): string | undefined {
  const withoutQuery = ref.replace(/[?#].*$/, "");
  const last = decodeURIComponent(withoutQuery.split("/").pop() ?? "");
  return /^[\w.+-]+\.gguf$/i.test(last) ? last : undefined;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

function huggingFaceEndpoint(): string {
  return process.env.HF_ENDPOINT ?? "https://huggingface.co";
}

/**
 * Fails fast when the download host cannot be reached. node-llama-cpp's downloader retries a refused
 * connection for a long time and ignores the abort signal while it does, so an offline machine would
 * otherwise hang instead of hearing what to do.
 */
async function assertReachable(ref: string, cacheDir: string): Promise<void> {
  const url = ref.startsWith("hf:") ? huggingFaceEndpoint() : ref;
  const timeoutMs = Number(process.env.BUILDER_DOWNLOAD_CONNECT_TIMEOUT_MS) || DEFAULT_CONNECT_TIMEOUT_MS;
  try {
    // Any HTTP answer (even 404 or 405) proves the host is there; the downloader reports the rest.
    await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    throw downloadFailed(ref, cacheDir, error);
  }
}

function downloadFailed(ref: string, cacheDir: string, error: unknown): ModelError {
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : "";
  const reason = error instanceof Error ? `${error.message}${cause}` : String(error);
  const plain = plainCacheName(ref);
  const place = plain ? `or place it at ${path.join(cacheDir, plain)}` : `or place it in ${cacheDir}`;
  return new ModelError(
    "MODEL_DOWNLOAD_FAILED",
    `Could not download model ${ref} (${reason}). Without network access, download the .gguf file on another machine, ` +
      `copy it here, and set "model" to its path (${place}).`,
    { model: ref, cacheDir },
    { cause: error },
  );
}

/** node-llama-cpp, loaded on first use: commands that never resolve a model start without it. */
function loadLlamaBindings(): Promise<typeof import("node-llama-cpp")> {
  return import("node-llama-cpp");
}

/**
 * When the folder holds an earlier agent setup and no builder.config.json, the way to use it: `builder
 * init` migrates it, `--config config.json` reads the agent config as it is.
 */
function legacySetupHint(cwd: string): string {
  if (existsSync(path.join(cwd, "builder.config.json"))) return "";
  const found = ["config.json", ".ollamarc", "Modelfile"].filter((name) => existsSync(path.join(cwd, name)));
  if (found.length === 0) return "";
  const agentConfig = found.includes("config.json") ? " (or pass --config config.json to read it as it is)" : "";
  return ` This folder has ${found.join(", ")} from an earlier setup: run \`builder init\` to write builder.config.json from ${found.length > 1 ? "them" : "it"}${agentConfig}.`;
}
