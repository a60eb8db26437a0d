import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/load.js";
import { synthesizeQwenTestModel } from "../../models/qwen-test-model.js";
import { tempDir } from "../../test-support/fixtures.js";
import { startServe, type ServeProcess } from "../../test-support/serve.js";
import { OllamaBackend } from "./ollama-backend.js";

describe("num_ctx auto on the Ollama backend, against builder serve holding a 16K window", () => {
  let serve: ServeProcess;

  beforeAll(async () => {
    serve = await startServe(await synthesizeQwenTestModel(), ["--name", "qwen:test", "--num-ctx", "16384"]);
  });

  afterAll(async () => {
    await serve?.stop();
  });

  function backend(options: Record<string, unknown> = {}): OllamaBackend {
    const home = tempDir("builder-home-");
    const config = loadConfig({
      cwd: tempDir("builder-ws-"),
      env: { HOME: home, XDG_CACHE_HOME: home },
      overrides: { backend: "ollama", serverUrls: serve.url, model: "qwen:test", options },
    });
    return new OllamaBackend(config);
  }

  it("sends the bucket the task needs, or the window the server already holds when that is larger (no reload)", async () => {
    const ollama = backend();
    const info = await ollama.prepare();
    // Capped by the model's trained context (/api/show), not by the server's current window.
    expect(info.autoWindowCap).toBe(32768);
    // A task needing 8K runs in the loaded 16K: asking for 8K would make Ollama reload the model.
    expect((await ollama.fitWindow(6000)).contextSize).toBe(16384);
    // One needing more than 16K asks for the 32K bucket (the host reloads for a bigger window).
    const grown = await ollama.fitWindow(20_000);
    expect(grown.contextSize).toBe(32768);
    expect(grown.requestedContextSize).toBe(32768);
  });

  it("keeps an explicit num_ctx, capped by what the model was trained on (the window Ollama would load)", async () => {
    expect((await backend({ num_ctx: 12288 }).prepare()).contextSize).toBe(12288);
    const capped = await backend({ num_ctx: 128_000 }).prepare();
    expect(capped.contextSize).toBe(32768);
    expect(capped.requestedContextSize).toBe(128_000);
    expect(capped.autoWindowCap).toBeUndefined();
  });
});
