import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/load.js";
import { synthesizeQwenTestModel } from "../../models/qwen-test-model.js";
import { tempDir } from "../../test-support/fixtures.js";
import { startServe, type ServeProcess } from "../../test-support/serve.js";
import { OllamaBackend } from "./ollama-backend.js";

describe("num_ctx auto on the Ollama backend, against builder serve holding a 16K window", () => {
  let serve: ServeProcess;
  /** A loopback proxy in front of builder serve that records the options of each chat request. */
  let proxy: Server;
  let proxyUrl: string;
  const sentOptions: Array<Record<string, unknown>> = [];

  beforeAll(async () => {
    serve = await startServe(await synthesizeQwenTestModel(), ["--name", "qwen:test", "--num-ctx", "16384"]);
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const body = Buffer.concat(chunks);
        if (req.url === "/api/chat")
          sentOptions.push((JSON.parse(body.toString()) as { options: Record<string, unknown> }).options);
        void fetch(`${serve.url}${req.url ?? "/"}`, {
          method: req.method,
          headers: { "content-type": "application/json" },
          ...(body.length > 0 ? { body } : {}),
        }).then(async (reply) => {
          res.writeHead(reply.status, { "content-type": reply.headers.get("content-type") ?? "application/json" });
          res.end(Buffer.from(await reply.arrayBuffer()));
        });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => proxy?.close(resolve));
    await serve?.stop();
  });

  function backend(options: Record<string, unknown> = {}, url = serve.url): OllamaBackend {
    const home = tempDir("builder-home-");
    const config = loadConfig({
      cwd: tempDir("builder-ws-"),
      env: { HOME: home, XDG_CACHE_HOME: home },
      overrides: { backend: "ollama", serverUrls: url, model: "qwen:test", options },
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

  it("sends the bucket as num_ctx with the request", async () => {
    const ollama = backend({ num_thread: 1 }, proxyUrl);
    await ollama.prepare();
    expect((await ollama.fitWindow(20_000)).contextSize).toBe(32768);
    await ollama.generate({ messages: [{ role: "user", content: "Say hi" }], sampling: { maxTokens: 2, seed: 1 } });
    expect(sentOptions.at(-1)).toMatchObject({ num_ctx: 32768, num_predict: 2 });
  });

  it("keeps an explicit num_ctx, capped by what the model was trained on (the window Ollama would load)", async () => {
    expect((await backend({ num_ctx: 12288 }).prepare()).contextSize).toBe(12288);
    const capped = await backend({ num_ctx: 128_000 }).prepare();
    expect(capped.contextSize).toBe(32768);
    expect(capped.requestedContextSize).toBe(128_000);
    expect(capped.autoWindowCap).toBeUndefined();
  });
});
