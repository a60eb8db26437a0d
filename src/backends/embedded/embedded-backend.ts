import type { Backend, BackendInfo, ChatMessage, GenerateRequest, GenerateResult, BackendConfig } from "../types.js";
import path from "node:path";
import { describeBackend } from "../descriptors.js";
// Type only: the engine (and llama.cpp's bindings) load when a run needs them, not when a backend is made.
import type { EmbeddedEngine, EmbeddedEngineOptions } from "./engine.js";
import { chooseWindow, keepsLoadedWindow } from "../../window-size/policy.js";
import { longestTokenBytes } from "./vocabulary.js";

/** Where saved prefix states live: beside the model cache (`~/.cache/builder/prefix-cache`). */
export function prefixCacheDir(modelCacheDir: string): string {
  return path.join(path.dirname(modelCacheDir), "prefix-cache");
}

/** The default backend: llama.cpp in this process, on a local GGUF file. */
export class EmbeddedBackend implements Backend {
  private engine: Promise<EmbeddedEngine> | undefined;

  /** `sequences`: parallel sequences (the Builder host serves several requests at once). */
  constructor(
    private readonly config: BackendConfig,
    private readonly sequences = 1,
  ) {}

  async prepare(): Promise<BackendInfo> {
    this.engine ??= import("./engine.js").then(({ EmbeddedEngine }) => EmbeddedEngine.load(this.engineOptions()));
    let engine: EmbeddedEngine;
    try {
      engine = await this.engine;
    } catch (error) {
      this.engine = undefined;
      throw error;
    }
    return {
      backend: "embedded",
      capabilities: describeBackend("embedded").capabilities,
      model: engine.modelPath,
      contextSize: engine.contextSize,
      contextOrigin: "engine",
      requestedContextSize: this.config.options.num_ctx,
      ...(this.config.options.num_ctx === undefined ? { autoWindowCap: await engine.autoWindowCap() } : {}),
      accelerator: engine.accelerator,
      device: engine.device,
      loadMs: engine.loadMs,
      threads: engine.threads,
      memoryBytes: engine.model.size,
    };
  }

  /** `num_ctx: auto`: a new context of the bucket that holds `neededTokens`, unless the one open already does. */
  async fitWindow(neededTokens: number): Promise<BackendInfo> {
    const engine = await this.loaded();
    const window = chooseWindow(neededTokens, await engine.autoWindowCap());
    if (keepsLoadedWindow(engine.contextSize, window)) return this.prepare();
    const resized = engine.withContextSize(window, this.engineOptions());
    this.engine = resized;
    try {
      await resized;
    } catch (error) {
      this.engine = undefined;
      throw error;
    }
    return this.prepare();
  }

  private engineOptions(): EmbeddedEngineOptions {
    const settings = this.config.engine;
    return {
      model: this.config.model,
      modelCacheDir: this.config.modelCacheDir,
      gpu: this.config.gpu,
      gpuIndex: this.config.gpuIndex,
      options: this.config.options,
      sequences: this.sequences,
      speculative: settings?.speculative ?? false,
      prefixCache:
        settings && settings.prefixCacheMaxBytes > 0
          ? { dir: prefixCacheDir(this.config.modelCacheDir), maxBytes: settings.prefixCacheMaxBytes }
          : undefined,
    };
  }

  /** The longest token piece of the model's vocabulary, in bytes. */
  async maxBytesPerToken(): Promise<number> {
    return longestTokenBytes((await this.loaded()).model);
  }

  async countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }> {
    const engine = await this.loaded();
    return { tokens: await engine.countPromptTokens(messages), exact: true };
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const engine = await this.loaded();
    return engine.generate(request.messages, {
      grammar:
        request.grammar !== undefined
          ? await engine.grammarForText(request.grammar)
          : request.schema
            ? await engine.grammarForSchema(request.schema)
            : undefined,
      sampling: request.sampling,
      signal: request.signal,
      onTextChunk: request.onTextChunk,
    });
  }

  async dispose(): Promise<void> {
    const engine = this.engine;
    this.engine = undefined;
    if (engine) await (await engine).dispose();
  }

  private async loaded(): Promise<EmbeddedEngine> {
    await this.prepare();
    if (!this.engine) throw new Error("embedded engine is not loaded");
    return this.engine;
  }
}
