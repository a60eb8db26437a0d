import { EmbeddedEngine } from "../backends/embedded/engine.js";
import type { BuilderConfig } from "../config/load.js";
import { getLogger } from "../telemetry/logger.js";
import { defaultModelName, normaliseModelName, readModelFacts, type ModelFacts } from "./model-facts.js";

/** Options for {@link ModelHost.start}. */
export interface ModelHostOptions {
  /** Model reference, cache folder, GPU setting and load options (num_ctx, num_thread, gpu_layers…). */
  config: BuilderConfig;
  /** Parallel sequences: requests beyond this many wait for a free one. */
  sequences: number;
  /** The name clients use; default: the GGUF file's base name. */
  name?: string;
  /** How long the model stays loaded after a request that sets no `keep_alive` (Infinity: forever). */
  defaultKeepAliveMs: number;
}

/** A request's hold on the loaded engine. */
export interface EngineLease {
  engine: EmbeddedEngine;
  /** Milliseconds this request waited for the model to load (0 when it was loaded). */
  loadMs: number;
  /** Ends the hold; `keepAliveMs` (default: the server's) is how long the model stays loaded afterwards. */
  release(keepAliveMs?: number): void;
}

/**
 * The one model `builder serve` serves: loaded at start (so a bad model fails the start), unloaded
 * when its keep-alive runs out with no request running, and loaded again by the next request, as
 * Ollama does.
 */
export class ModelHost {
  private engine: Promise<EmbeddedEngine> | undefined;
  private active = 0;
  private unloadTimer: NodeJS.Timeout | undefined;
  private keepAliveMs: number;
  private expires: Date | undefined;

  private constructor(
    private readonly options: ModelHostOptions,
    readonly facts: ModelFacts,
    engine: EmbeddedEngine,
  ) {
    this.engine = Promise.resolve(engine);
    this.keepAliveMs = options.defaultKeepAliveMs;
    this.scheduleUnload();
  }

  /** Loads the model and reads its facts. */
  static async start(options: ModelHostOptions): Promise<ModelHost> {
    const engine = await loadEngine(options);
    const facts = await readModelFacts(
      engine,
      options.name ? normaliseModelName(options.name) : defaultModelName(engine.modelPath),
    );
    return new ModelHost(options, facts, engine);
  }

  get name(): string {
    return this.facts.name;
  }

  /** Whether `requested` names the served model ("tiny" and "tiny:latest" both do; case does not matter, as in Ollama). */
  matches(requested: string): boolean {
    return normaliseModelName(requested).toLowerCase() === this.facts.name.toLowerCase();
  }

  /** Whether the model is in memory now. */
  get loaded(): boolean {
    return this.engine !== undefined;
  }

  /** When the model will be unloaded if no request comes (undefined when not loaded). */
  get expiresAt(): Date | undefined {
    return this.engine ? this.expires : undefined;
  }

  /** Bytes of memory the loaded model takes. */
  async memoryBytes(): Promise<number> {
    return this.engine ? (await this.engine).model.size : 0;
  }

  /**
   * Bytes of GPU memory the loaded model takes, as the engine measured it (0 on the CPU or when
   * unloaded). A GPU whose memory llama.cpp cannot read counts the whole model when layers are offloaded.
   */
  async vramBytes(): Promise<number> {
    if (!this.engine) return 0;
    const engine = await this.engine;
    const { vramBytes, layers } = engine.accelerator;
    if (vramBytes !== undefined) return vramBytes;
    return layers && layers.onGpu > 0 ? engine.model.size : 0;
  }

  /** Holds the engine for one request, loading the model first when it was unloaded. */
  async lease(): Promise<EngineLease> {
    this.active++;
    this.cancelUnload();
    const started = performance.now();
    const wasLoaded = this.engine !== undefined;
    let engine: EmbeddedEngine;
    try {
      this.engine ??= loadEngine(this.options);
      engine = await this.engine.catch((error: unknown) => {
        this.engine = undefined;
        throw error;
      });
    } catch (error) {
      this.active--;
      throw error;
    }
    const loadMs = wasLoaded ? 0 : performance.now() - started;
    let released = false;
    return {
      engine,
      loadMs,
      release: (keepAliveMs) => {
        if (released) return;
        released = true;
        this.active--;
        // Each request sets how long the model stays after it; without keep_alive, the server's default.
        this.keepAliveMs = keepAliveMs ?? this.options.defaultKeepAliveMs;
        this.scheduleUnload();
      },
    };
  }

  /** Unloads now when no request runs, else as soon as the last one ends (Ollama's `keep_alive: 0`). */
  async unload(): Promise<void> {
    this.keepAliveMs = 0;
    if (this.active === 0) await this.unloadNow();
  }

  /** Frees the model for good (server shutdown). */
  async close(): Promise<void> {
    this.cancelUnload();
    await this.unloadNow();
  }

  private scheduleUnload(): void {
    this.cancelUnload();
    if (this.active > 0 || !this.engine) return;
    if (this.keepAliveMs === Infinity) {
      // Ollama shows a date far in the future for "forever".
      this.expires = new Date(Date.UTC(2318, 0, 1));
      return;
    }
    this.expires = new Date(Date.now() + this.keepAliveMs);
    if (this.keepAliveMs <= 0) {
      void this.unloadNow();
      return;
    }
    this.unloadTimer = setTimeout(() => void this.unloadNow(), Math.min(this.keepAliveMs, 2 ** 31 - 1));
    this.unloadTimer.unref();
  }

  private cancelUnload(): void {
    if (this.unloadTimer) clearTimeout(this.unloadTimer);
    this.unloadTimer = undefined;
  }

  private async unloadNow(): Promise<void> {
    const engine = this.engine;
    if (!engine || this.active > 0) return;
    this.engine = undefined;
    this.expires = undefined;
    getLogger().info({ model: this.facts.name }, "model unloaded (keep_alive ran out or was 0)");
    await (await engine).dispose();
  }
}

function loadEngine(options: ModelHostOptions): Promise<EmbeddedEngine> {
  const { config } = options;
  return EmbeddedEngine.load({
    model: config.model,
    modelCacheDir: config.modelCacheDir,
    gpu: config.gpu,
    gpuIndex: config.gpuIndex,
    options: config.options,
    sequences: options.sequences,
  });
}
