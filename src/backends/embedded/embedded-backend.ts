import type { BuilderConfig } from "../../config/load.js";
import type { Backend, BackendInfo, ChatMessage, GenerateRequest, GenerateResult } from "../types.js";
import { EmbeddedEngine } from "./engine.js";
import { longestTokenBytes } from "./vocabulary.js";

/** The default backend: llama.cpp in this process, on a local GGUF file. */
export class EmbeddedBackend implements Backend {
  private engine: Promise<EmbeddedEngine> | undefined;

  constructor(private readonly config: BuilderConfig) {}

  async prepare(): Promise<BackendInfo> {
    this.engine ??= EmbeddedEngine.load({
      model: this.config.model,
      modelCacheDir: this.config.modelCacheDir,
      gpu: this.config.gpu,
      options: this.config.options,
    });
    let engine: EmbeddedEngine;
    try {
      engine = await this.engine;
    } catch (error) {
      this.engine = undefined;
      throw error;
    }
    return {
      backend: "embedded",
      model: engine.modelPath,
      contextSize: engine.contextSize,
      device: engine.device,
      loadMs: engine.loadMs,
      threads: engine.threads,
      memoryBytes: engine.model.size,
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
      grammar: await engine.grammarForSchema(request.schema),
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
