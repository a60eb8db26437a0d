import { stat } from "node:fs/promises";
import { freemem } from "node:os";
import path from "node:path";
import { prefixCacheDir } from "../backends/embedded/embedded-backend.js";
import type { EmbeddedEngine } from "../backends/embedded/engine.js";
import type { BuilderConfig } from "../config/load.js";
import { DEFAULT_MAX_LOADED_MODELS } from "../config/engine-settings.js";
import { getLogger } from "../telemetry/logger.js";
import { HostedModel, optionsFrom, type LoadSettings } from "./hosted-model.js";
import { defaultModelName, normaliseModelName, readModelFacts } from "./model-facts.js";
import { FOREVER, Residency } from "./residency.js";

export { HostedModel, type LoadSettings } from "./hosted-model.js";

export { DEFAULT_MAX_LOADED_MODELS };

/** Options for {@link ModelHost}. */
export interface ModelHostOptions {
  /** The runtime (gpu, gpu_index), the model cache, and the prefix cache and speculative settings. */
  config: BuilderConfig;
  /** Parallel sequences per loaded model: requests beyond this many wait their turn. */
  sequences: number;
  /** How long a model stays loaded after a request that sets no `keep_alive` (Infinity: forever). */
  defaultKeepAliveMs: number;
  /** Models loaded side by side at most (`max_loaded_models`); more unload the least recently used idle one. */
  maxLoadedModels?: number;
  /** Loads a model (tests pass a fake); default: the embedded engine. */
  load?: (model: HostedModel, settings: LoadSettings) => Promise<EmbeddedEngine>;
  /** Bytes free for another model (VRAM on a GPU, else RAM); undefined: unknown. */
  memoryAvailable?: () => Promise<number | undefined>;
  /** Called when nothing is loaded and no request runs (the background host exits then). */
  onEmpty?: () => void;
}

/** What one request asks of the host. */
export interface ModelRequest {
  /** The window the request needs; a loaded context at least this large serves it. */
  numCtx?: number;
  /** Load settings the request names; one that differs from the loaded copy's reloads it. */
  load?: LoadSettings;
  /** Who asks, for `builder ps` ("builder run, pid 123"). */
  client?: string;
}

/** A request's hold on a loaded model. */
export interface EngineLease {
  engine: EmbeddedEngine;
  /** Milliseconds this request waited for the model to load (0 when it was loaded). */
  loadMs: number;
  /** Ends the hold; `keepAliveMs` (default: the host's) is how long the model stays loaded afterwards. */
  release(keepAliveMs?: number): void;
}

/**
 * Every model of the machine's Builder host, each loaded once, as Ollama's scheduler holds them: a
 * request whose window fits the loaded context runs there; one that needs a bigger window (or other
 * load settings) reloads the model once the requests running on it end, never beside it; another
 * model loads beside the loaded ones only while `maxLoadedModels` and memory allow, else the least
 * recently used idle model is unloaded first. Each model unloads `keep_alive` after its last request.
 */
export class ModelHost {
  private readonly hosted: HostedModel[] = [];
  private readonly residencies = new Map<string, Residency>();
  /** The smallest window a model reloads with: the one it had (a reload never shrinks it). */
  private readonly floors = new Map<string, number>();
  private readonly waiters: Array<() => void> = [];
  private nextLeaseId = 1;
  /** Orders uses for least-recently-used eviction (a clock would tie within a millisecond). */
  private uses = 0;
  /** Requests between asking for a model and holding it (waiting for a load, a reload or room). */
  private pending = 0;
  private closing = false;

  constructor(private readonly options: ModelHostOptions) {}

  get sequences(): number {
    return this.options.sequences;
  }

  get maxLoadedModels(): number {
    return this.options.maxLoadedModels ?? DEFAULT_MAX_LOADED_MODELS;
  }

  get defaultKeepAliveMs(): number {
    return this.options.defaultKeepAliveMs;
  }

  /** Makes a model known under `name` (default: its file name), with the settings it loads with by default. */
  register(modelPath: string, defaults: LoadSettings, name?: string): HostedModel {
    const absolute = path.resolve(modelPath);
    const known = this.hosted.find((m) => m.modelPath === absolute);
    if (known) {
      if (name) known.name = normaliseModelName(name);
      return known;
    }
    const model = new HostedModel(absolute, name ? normaliseModelName(name) : defaultModelName(absolute), defaults);
    this.hosted.push(model);
    return model;
  }

  /** The known model `requested` names (a name, or with `byPath` an absolute GGUF path, made known on the way). */
  async find(requested: string, byPath: boolean): Promise<HostedModel | undefined> {
    const known = this.hosted.find((m) => m.matches(requested));
    if (known || !byPath || !path.isAbsolute(requested)) return known;
    const file = await stat(requested).catch(() => undefined);
    return file?.isFile() ? this.register(requested, {}) : undefined;
  }

  /** Every known model. */
  get models(): readonly HostedModel[] {
    return this.hosted;
  }

  /** The loaded copies, for `/api/ps` and `builder ps`. */
  get loaded(): Residency[] {
    return [...this.residencies.values()].filter((r) => r.value !== undefined);
  }

  /** The loaded copy of `model`, if any. */
  residencyOf(model: HostedModel): Residency | undefined {
    return this.residencies.get(model.modelPath);
  }

  /** Whether any request runs or waits. */
  get busy(): boolean {
    return this.pending > 0 || [...this.residencies.values()].some((r) => r.active > 0);
  }

  /** Loads `model` and lets it go at once (a bad model fails `builder serve`'s start). */
  async preload(model: HostedModel): Promise<void> {
    (await this.lease(model, {})).release();
  }

  /** Holds a loaded copy of `model` that serves `request`, loading (or reloading) it first when needed. */
  async lease(model: HostedModel, request: ModelRequest): Promise<EngineLease> {
    this.pending++;
    try {
      return await this.acquire(model, request);
    } finally {
      this.pending--;
    }
  }

  private async acquire(model: HostedModel, request: ModelRequest): Promise<EngineLease> {
    const started = performance.now();
    let waited = false;
    for (;;) {
      if (this.closing) throw new Error("the Builder host is shutting down");
      const current = this.residencies.get(model.modelPath);
      if (current && !current.retiring) {
        if (current.value === undefined && request.numCtx !== undefined && current.settings.numCtx === undefined) {
          // Loading at the default window: its size is known once loaded.
          waited = true;
          await current.engine.catch(() => undefined);
          continue;
        }
        if (current.serves(request.numCtx, request.load ?? {}))
          return this.hold(current, request, started, waited || current.value === undefined);
        this.retire(current, request, "a request needs a larger window or other load settings");
      }
      waited = true;
      if (current) {
        await current.gone;
        continue;
      }
      await this.makeRoom(model);
      if (!this.residencies.has(model.modelPath)) this.startLoad(model, request);
    }
  }

  /** Unloads `model` now when no request runs on it, else as soon as they end (Ollama's `keep_alive: 0`). */
  async unload(model: HostedModel): Promise<void> {
    const residency = this.residencies.get(model.modelPath);
    if (!residency) return;
    residency.keepAliveMs = 0;
    if (residency.active === 0) await this.unloadNow(residency, "keep_alive 0");
    else residency.unloadWhenIdle = true;
  }

  /** Frees every model for good (host shutdown): running requests get `graceMs` to end. */
  async close(graceMs = 5_000): Promise<void> {
    this.closing = true;
    const deadline = Date.now() + graceMs;
    while (this.busy && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    for (const residency of [...this.residencies.values()]) await this.unloadNow(residency, "the host stops");
  }

  private async hold(
    residency: Residency,
    request: ModelRequest,
    started: number,
    waited: boolean,
  ): Promise<EngineLease> {
    residency.active++;
    residency.cancelTimer();
    const id = this.nextLeaseId++;
    residency.users.set(id, { client: request.client ?? "a client", since: new Date() });
    let engine: EmbeddedEngine;
    try {
      engine = await residency.engine;
    } catch (error) {
      residency.users.delete(id);
      residency.active--;
      if (this.residencies.get(residency.model.modelPath) === residency) {
        this.residencies.delete(residency.model.modelPath);
        residency.markGone();
        this.changed();
      }
      throw error;
    }
    let released = false;
    return {
      engine,
      loadMs: waited ? performance.now() - started : 0,
      release: (keepAliveMs) => {
        if (released) return;
        released = true;
        residency.users.delete(id);
        this.release(residency, keepAliveMs);
      },
    };
  }

  private release(residency: Residency, keepAliveMs: number | undefined): void {
    residency.active--;
    residency.lastUsed = ++this.uses;
    residency.keepAliveMs = keepAliveMs ?? this.options.defaultKeepAliveMs;
    if (residency.active === 0 && (residency.retiring || residency.unloadWhenIdle))
      void this.unloadNow(residency, residency.retiring ? "reloading" : "keep_alive 0");
    else this.scheduleUnload(residency);
    this.changed();
  }

  /** Starts loading `model` for `request` (the window: the larger of the request's, the default and the last loaded one). */
  private startLoad(model: HostedModel, request: ModelRequest): void {
    const floor = this.floors.get(model.modelPath);
    this.floors.delete(model.modelPath);
    const wanted = request.numCtx ?? model.defaults.numCtx;
    const numCtx = wanted === undefined ? floor : Math.max(wanted, floor ?? 0);
    const settings: LoadSettings = { ...model.defaults, ...request.load, numCtx };
    const load = this.options.load ?? ((m, s) => this.loadEngine(m, s));
    const engine = load(model, settings);
    const residency = new Residency(model, settings, engine, this.options.defaultKeepAliveMs);
    this.residencies.set(model.modelPath, residency);
    getLogger().info({ model: model.name, path: model.modelPath, num_ctx: numCtx ?? "default" }, "loading model");
    engine.then(
      (loaded) =>
        getLogger().info(
          { model: model.name, num_ctx: loaded.contextSize, load_ms: Math.round(residency.loadMs) },
          "model loaded",
        ),
      (error: unknown) => getLogger().warn({ model: model.name, err: error }, "model failed to load"),
    );
  }

  private retire(residency: Residency, request: ModelRequest, reason: string): void {
    residency.retiring = true;
    const size = Math.max(residency.contextSize ?? 0, request.numCtx ?? 0);
    if (size > 0) this.floors.set(residency.model.modelPath, size);
    getLogger().info(
      { model: residency.model.name, running: residency.active, num_ctx: request.numCtx },
      `${reason}: the model reloads once its running requests end`,
    );
    if (residency.active === 0) void this.unloadNow(residency, "reloading");
  }

  /** Unloads idle models until `model` may load beside the rest: under the count, and (if known) within memory. */
  private async makeRoom(model: HostedModel): Promise<void> {
    for (;;) {
      const others = [...this.residencies.values()].filter((r) => r.model !== model);
      if (others.length === 0) return;
      const overCount = this.residencies.size >= this.maxLoadedModels;
      const short = !overCount && !(await this.memoryAllows(model));
      if (!overCount && !short) return;
      const idle = others
        .filter((r) => r.active === 0 && !r.retiring && r.value !== undefined)
        .sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (idle) {
        await this.unloadNow(idle, overCount ? "max_loaded_models reached" : "memory is needed for another model");
        continue;
      }
      // Too little memory but every model busy: try to load anyway (llama.cpp says if it cannot).
      if (!overCount) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private async memoryAllows(model: HostedModel): Promise<boolean> {
    const available = await (this.options.memoryAvailable ?? (() => this.freeMemory()))();
    if (available === undefined) return true;
    const file = await stat(model.modelPath).catch(() => undefined);
    return file === undefined || file.size * 1.2 <= available;
  }

  private async freeMemory(): Promise<number | undefined> {
    const engine = this.loaded[0]?.value;
    if (!engine || engine.llama.gpu === false || engine.model.gpuLayers === 0) return freemem();
    return (await engine.llama.getVramState().catch(() => undefined))?.free;
  }

  private scheduleUnload(residency: Residency): void {
    residency.cancelTimer();
    if (residency.active > 0) return;
    if (residency.keepAliveMs === Infinity) {
      residency.expires = FOREVER;
      return;
    }
    residency.expires = new Date(Date.now() + residency.keepAliveMs);
    if (residency.keepAliveMs <= 0) {
      void this.unloadNow(residency, "keep_alive 0");
      return;
    }
    residency.timer = setTimeout(
      () => void this.unloadNow(residency, "keep_alive ran out"),
      Math.min(residency.keepAliveMs, 2 ** 31 - 1),
    );
    residency.timer.unref();
  }

  private async unloadNow(residency: Residency, reason: string): Promise<void> {
    if (this.residencies.get(residency.model.modelPath) !== residency) return;
    if (residency.active > 0) {
      residency.retiring = true;
      return;
    }
    this.residencies.delete(residency.model.modelPath);
    residency.cancelTimer();
    getLogger().info({ model: residency.model.name, reason }, "model unloaded");
    try {
      await (await residency.engine).dispose();
    } catch {
      // It never loaded, or is gone already.
    }
    residency.markGone();
    this.changed();
  }

  /** Wakes requests waiting for room; tells the owner when the host holds nothing and runs nothing. */
  private changed(): void {
    for (const wake of this.waiters.splice(0)) wake();
    if (!this.closing && this.residencies.size === 0 && !this.busy) this.options.onEmpty?.();
  }

  /** Loads the model with the embedded engine and reads its facts for `/api/tags` and `/api/show`. */
  private async loadEngine(model: HostedModel, settings: LoadSettings): Promise<EmbeddedEngine> {
    const { config, sequences } = this.options;
    const engine = config.engine;
    const { EmbeddedEngine } = await import("../backends/embedded/engine.js");
    const loaded = await EmbeddedEngine.load({
      model: model.modelPath,
      modelCacheDir: config.modelCacheDir,
      gpu: config.gpu,
      gpuIndex: config.gpuIndex,
      options: optionsFrom(settings),
      sequences,
      speculative: engine?.speculative ?? false,
      prefixCache:
        engine && engine.prefixCacheMaxBytes > 0
          ? { dir: prefixCacheDir(config.modelCacheDir), maxBytes: engine.prefixCacheMaxBytes }
          : undefined,
    });
    try {
      model.facts = await readModelFacts(loaded, model.name);
    } catch (error) {
      await loaded.dispose();
      throw error;
    }
    return loaded;
  }
}
