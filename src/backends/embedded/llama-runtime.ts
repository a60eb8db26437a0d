import { getLlama, LlamaLogLevel, type Llama } from "node-llama-cpp";
import type { BuilderConfig } from "../../config/load.js";
import { getLogger } from "../../telemetry/logger.js";

const runtimes = new Map<string, Promise<Llama>>();

/**
 * One llama.cpp runtime per process and GPU setting: loading the native bindings is slow, and
 * several backends (the CLI, `builder serve`, the benchmark) share it.
 */
export function getLlamaRuntime(gpu: BuilderConfig["gpu"]): Promise<Llama> {
  const key = String(gpu);
  let runtime = runtimes.get(key);
  if (!runtime) {
    const logger = getLogger().child({ component: "llama.cpp" });
    runtime = getLlama({
      gpu,
      // Never build from source or download at run time: use the prebuilt binaries npm installed.
      build: "never",
      logLevel: LlamaLogLevel.warn,
      logger: (level, message) => {
        const text = message.trim();
        if (!text) return;
        if (level === LlamaLogLevel.error || level === LlamaLogLevel.fatal) logger.error(text);
        else if (level === LlamaLogLevel.warn) logger.warn(text);
        else logger.debug(text);
      },
    });
    runtimes.set(key, runtime);
  }
  return runtime;
}

/** A short human description of where llama.cpp computes. */
export function describeDevice(llama: Llama, threads: number): string {
  const gpu = llama.gpu === false ? "CPU" : `GPU (${llama.gpu})`;
  return `${gpu}, ${threads} thread${threads === 1 ? "" : "s"}`;
}
