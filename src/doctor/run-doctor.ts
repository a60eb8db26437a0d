import { stat } from "node:fs/promises";
import type { BuilderConfig, ConfigOverrides } from "../config/load.js";
import { defaultContextSize } from "../window-size/policy.js";
import { parseKvCacheType, type KvCacheType } from "../models/memory-estimate.js";
import type { ModelFacts } from "../models/model-shape.js";
import { OllamaAdmin } from "../server-admin/ollama-admin.js";
import { metricsFile } from "../telemetry/metrics.js";
import { scanMetrics } from "../stats/metrics-reader.js";
import { percentile } from "../stats/percentile.js";
import { detectCores, type CoreCount } from "../system/cpu-cores.js";
import { detectNvidiaGpus, type GpuDetection } from "../system/gpu.js";
import { loadDoctorConfig } from "./doctor-config.js";
import { memoryFitAgainstHost } from "./host-fit.js";
import { describeBackend } from "../backends/descriptors.js";
import { hostStatus, type HostStatus } from "../backends/host/host-admin.js";
import { hostDir } from "../backends/host/host-files.js";
import { probeBackend, probeModel } from "../backends/probes.js";
import { findConfigPitfalls, type TypicalPrompt } from "./pitfalls.js";
import { gpuCheck, threadsCheck } from "./probes.js";
import { sandboxCheck } from "./sandbox-check.js";
import { memoryBudget } from "../system/memory-budget.js";
import { makeReport, type DoctorCheck, type DoctorReport } from "./types.js";

/** Options for {@link runDoctor}. */
export interface DoctorOptions {
  cwd?: string;
  configPath?: string;
  overrides?: ConfigOverrides;
  env?: NodeJS.ProcessEnv;
  /** The KV cache type to assume; default f16 (embedded), OLLAMA_KV_CACHE_TYPE for Ollama when flash attention is on. */
  kvCacheType?: KvCacheType;
  /** Replaces nvidia-smi detection (tests). */
  gpuDetection?: GpuDetection;
  /** Replaces core detection (tests). */
  cores?: CoreCount;
}

/**
 * Checks the setup: config, backend, model, GPU, threads, memory fit at the configured context, and
 * config pitfalls. Never throws for a failing check; the report says what failed and what to do.
 */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  // A copy: probing the embedded engine with gpu_index narrows the process's CUDA_VISIBLE_DEVICES,
  // and the GPUs must be judged as the user set them.
  const env = options.env ?? { ...process.env };
  const loaded = loadDoctorConfig({
    cwd: options.cwd,
    configPath: options.configPath,
    env,
    overrides: options.overrides,
  });
  const checks: DoctorCheck[] = [loaded.check];
  const config = loaded.config;
  if (!config) return makeReport(checks);

  const [detection, cores] = [options.gpuDetection ?? (await detectNvidiaGpus()), options.cores ?? detectCores()];
  const ollama = new OllamaAdmin(config.ollama.host, 5000);
  const backend = await probeBackend(config, ollama);
  const model = await probeModel(config, backend, ollama);
  checks.push(backend.check, model.check, gpuCheck(config, detection, env));

  const pitfalls = findConfigPitfalls({
    backend: config.backend,
    rawOptions: loaded.rawOptions,
    options: config.options,
    configWarnings: config.warnings,
    model: model.facts ? { layers: model.facts.layers, contextLength: model.facts.contextLength } : undefined,
    cores,
    gpuFound: detection.found,
    typicalPrompt: await typicalPrompt(config),
    env,
  });
  if (!pitfalls.some((check) => check.id === "threads-above-cores")) checks.push(threadsCheck(config, cores));
  // Builder's own engine may hold the model in the Builder host: its memory counts against the card.
  const host = describeBackend(config.backend).capabilities.ownEngine
    ? await hostStatus(hostDir(config, env)).catch(() => undefined)
    : undefined;
  checks.push(
    memoryCheck(config, model.facts, detection, options.kvCacheType ?? defaultCacheType(config, env), env, host),
  );
  checks.push(sandboxCheck(config.verify.sandbox));
  checks.push(...pitfalls);
  if (pitfalls.length === 0) checks.push({ id: "pitfalls", status: "ok", message: "No known config pitfalls found." });
  return makeReport(checks);
}

function memoryCheck(
  config: BuilderConfig,
  facts: ModelFacts | undefined,
  detection: GpuDetection,
  cacheType: KvCacheType,
  env: NodeJS.ProcessEnv,
  host: HostStatus | undefined,
): DoctorCheck {
  const budget = memoryBudget(config, detection, env);
  if (!budget)
    return {
      id: "memory-fit",
      status: "ok",
      message: "Not checked: the model runs on a remote server, whose memory is not visible from here.",
    };
  if (!facts) {
    return {
      id: "memory-fit",
      status: "warn",
      message: "Not estimated: the model's metadata (layers, KV heads, head size) could not be read.",
      fix: describeBackend(config.backend).capabilities.modelShape
        ? "Fix the model check above."
        : "OpenAI-compatible servers do not report model metadata; check the server's own logs.",
    };
  }
  const configured = config.options.num_ctx;
  const numCtx = configured ?? defaultContextSize(facts.contextLength);
  const input = {
    shape: facts,
    numCtx,
    numCtxSource: configured === undefined ? ("default" as const) : ("configured" as const),
    cacheType,
    budget,
    gpuLayers: config.options.gpu_layers,
  };
  return memoryFitAgainstHost(input, host, config.model);
}

/** llama.cpp keeps the cache in f16; Ollama quantizes it only with OLLAMA_KV_CACHE_TYPE and flash attention. */
function defaultCacheType(config: BuilderConfig, env: NodeJS.ProcessEnv): KvCacheType {
  if (!describeBackend(config.backend).capabilities.kvCacheTypeFromEnv) return "f16";
  const flashAttention = /^(1|true)$/i.test(env.OLLAMA_FLASH_ATTENTION ?? "");
  return (flashAttention ? parseKvCacheType(env.OLLAMA_KV_CACHE_TYPE) : undefined) ?? "f16";
}

/** About 3 characters per token for code and Markdown; deliberately on the high side. */
const CHARS_PER_TOKEN = 3;
/** Builder's instructions and the task text around the knowledge. */
const PROMPT_FRAME_TOKENS = 400;

/** The p95 prompt size of recorded runs, else an estimate from the knowledge files' size. */
async function typicalPrompt(config: BuilderConfig): Promise<TypicalPrompt | undefined> {
  const sizes: number[] = [];
  await scanMetrics(metricsFile(config.workspace), {}, (record) => {
    if (typeof record.prompt_tokens === "number" && record.prompt_tokens > 0) sizes.push(record.prompt_tokens);
  }).catch(() => undefined);
  if (sizes.length > 0) return { tokens: Math.round(percentile(sizes, 0.95) ?? 0), source: "metrics" };
  if (config.knowledge.length === 0) return undefined;
  let bytes = 0;
  for (const file of config.knowledge)
    bytes += await stat(file).then(
      (s) => s.size,
      () => 0,
    );
  return { tokens: Math.ceil(bytes / CHARS_PER_TOKEN) + PROMPT_FRAME_TOKENS, source: "estimate" };
}
