import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { OllamaBackend } from "../backends/ollama/ollama-backend.js";
import { OpenAIBackend } from "../backends/openai/openai-backend.js";
import type { GenerateRequest } from "../backends/types.js";
import { loadConfig, type BuilderConfig } from "../config/load.js";
import { BackendError } from "../errors/errors.js";
import { OllamaAdmin } from "../server-admin/ollama-admin.js";
import { listOpenAiModels } from "../server-admin/openai-models.js";
import { tempDir } from "../test-support/fixtures.js";
import { scriptedServer, type ScriptedServer } from "../test-support/scripted-server.js";
import * as ollamaApi from "../http-client/__fixtures__/ollama-api.js";
import * as openaiApi from "../http-client/__fixtures__/openai-api.js";
import { parseReply } from "../http-client/http.js";
import {
  OllamaChatChunkSchema,
  OllamaShowSchema,
  OllamaStatusSchema,
  OllamaTagsSchema,
} from "../http-client/ollama-replies.js";
import { ChatCompletionChunkSchema, ErrorBodySchema, ModelListSchema } from "../http-client/openai-replies.js";
import { MalformedStreamError } from "../http-client/stream-errors.js";

// The clients are tested against the replies the servers' own documentation publishes, not only
// against Builder's own `builder serve`: see the sources cited in __fixtures__/.

let server: ScriptedServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

function config(backend: "ollama" | "openai", url: string, model: string): BuilderConfig {
  const dir = tempDir("builder-published-");
  const timeouts = { connect_timeout_ms: 2000, load_timeout_ms: 2000, idle_timeout_ms: 2000 };
  const section =
    backend === "ollama" ? { ollama: { host: url, ...timeouts } } : { openai: { base_url: url, ...timeouts } };
  writeFileSync(path.join(dir, "builder.config.json"), JSON.stringify({ backend, model, ...section }));
  return loadConfig({ cwd: dir, env: { HOME: dir } });
}

const request: GenerateRequest = {
  messages: [{ role: "user", content: "why is the sky blue?" }],
  schema: { type: "object" },
  sampling: { maxTokens: 400, temperature: 0 },
};

describe("reply schemas accept every documented reply", () => {
  it("parses Ollama's chat stream, structured and load replies, tags, show and create status", () => {
    const [token, final] = ollamaApi.CHAT_STREAM.map((line) => parseReply(OllamaChatChunkSchema, line));
    expect(token).toMatchObject({ done: false, message: { content: "The" } });
    expect(final).toMatchObject({ done: true, prompt_eval_count: 26, eval_count: 282, eval_duration: 4535599000 });
    expect(final?.message).toBeUndefined();
    expect(parseReply(OllamaChatChunkSchema, ollamaApi.CHAT_STRUCTURED)).toMatchObject({
      done_reason: "stop",
      message: { content: '{"age": 22, "available": false}' },
    });
    expect(parseReply(OllamaChatChunkSchema, ollamaApi.CHAT_LOAD)).toMatchObject({ done: true, done_reason: "load" });
    expect(parseReply(OllamaTagsSchema, ollamaApi.TAGS).models.map((m) => m.name)).toEqual([
      "codellama:13b",
      "llama3:latest",
    ]);
    expect(parseReply(OllamaShowSchema, ollamaApi.SHOW).model_info?.["llama.context_length"]).toBe(8192);
    expect(ollamaApi.CREATE_STATUS.map((line) => parseReply(OllamaStatusSchema, line).status)).toEqual([
      "reading model metadata",
      "success",
    ]);
  });

  it("parses OpenAI's chunk sequence, llama.cpp's timings chunk, model list and error body", () => {
    const chunks = openaiApi.CHAT_STREAM.filter((data) => data !== "[DONE]").map((data) =>
      parseReply(ChatCompletionChunkSchema, data),
    );
    expect(chunks.map((c) => c.choices?.[0]?.delta?.content ?? "").join("")).toBe("Hello");
    expect(chunks[2]?.choices?.[0]?.finish_reason).toBe("stop");
    expect(chunks[3]).toMatchObject({ choices: [], usage: { prompt_tokens: 9, completion_tokens: 12 } });
    expect(parseReply(ChatCompletionChunkSchema, openaiApi.LLAMA_CPP_LAST_CHUNK).timings).toMatchObject({
      prompt_n: 28,
      predicted_n: 22,
      predicted_ms: 1317.7,
    });
    expect(parseReply(ModelListSchema, openaiApi.LLAMA_CPP_MODELS).data[0]?.meta?.n_ctx_train).toBe(131072);
    expect(parseReply(ErrorBodySchema, openaiApi.LLAMA_CPP_ERROR).error).toMatchObject({ message: "Invalid API Key" });
  });

  it("refuses JSON that is not the documented shape instead of casting it", () => {
    expect(() => parseReply(OllamaChatChunkSchema, `{"message":{"content":"x"},"done":"yes"}`)).toThrow(
      MalformedStreamError,
    );
    expect(() => parseReply(ChatCompletionChunkSchema, `{"choices":[{"delta":{"content":42}}]}`)).toThrow(
      MalformedStreamError,
    );
    expect(() => parseReply(OllamaTagsSchema, `{"models":"none"}`)).toThrow(MalformedStreamError);
  });
});

describe("clients against a server that answers with the documented replies", () => {
  it("OllamaBackend streams the documented chat reply and takes the final line's counters", async () => {
    server = await scriptedServer((req, res) => {
      res.writeHead(200, { "content-type": req.path === "/api/chat" ? "application/x-ndjson" : "application/json" });
      res.end(req.path === "/api/chat" ? ollamaApi.CHAT_STREAM.join("\n") + "\n" : ollamaApi.SHOW);
    });
    const backend = new OllamaBackend(config("ollama", server.url, "llama3.2"));
    expect(await backend.prepare()).toMatchObject({
      model: "llama3.2",
      contextSize: 8192,
      device: expect.stringContaining("(llama 8.0B Q4_0)"),
    });
    const result = await backend.generate(request);
    expect(result).toMatchObject({
      text: "The",
      stopReason: "stop",
      metrics: { promptTokens: 26, generatedTokens: 282, generationMs: 4535.599, loadMs: 1.334875 },
    });
  });

  it("OllamaBackend reads the documented /api/ps after the generation: the context the server loaded, and its VRAM", async () => {
    server = await scriptedServer((req, res) => {
      res.writeHead(200, { "content-type": req.path === "/api/chat" ? "application/x-ndjson" : "application/json" });
      const replies: Record<string, string> = {
        "/api/chat": ollamaApi.CHAT_STREAM.join("\n") + "\n",
        "/api/ps": ollamaApi.PS_WITH_CONTEXT,
      };
      res.end(replies[req.path] ?? ollamaApi.SHOW);
    });
    const backend = new OllamaBackend(config("ollama", server.url, "gemma3"));
    expect(await backend.prepare()).toMatchObject({ contextSize: 8192, contextOrigin: "requested" });
    await backend.generate(request);
    expect(await backend.prepare()).toMatchObject({
      contextSize: 4096,
      contextOrigin: "server",
      requestedContextSize: 8192,
      accelerator: { source: "Ollama /api/ps", vramBytes: 5333539264, totalBytes: 6591830464 },
    });
  });

  it("OllamaBackend fails a chat line that is JSON but not Ollama's shape (BACKEND_ERROR), not silently", async () => {
    server = await scriptedServer((req, res) => {
      res.writeHead(200, { "content-type": req.path === "/api/chat" ? "application/x-ndjson" : "application/json" });
      res.end(req.path === "/api/chat" ? `{"message":{"content":"The"},"done":"no"}\n` : ollamaApi.SHOW);
    });
    const error = await new OllamaBackend(config("ollama", server.url, "llama3.2"))
      .generate(request)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BackendError);
    expect((error as BackendError).message).toMatch(/malformed stream line/);
  });

  it("OllamaAdmin reads the documented tags and show replies", async () => {
    server = await scriptedServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(req.path === "/api/tags" ? ollamaApi.TAGS : ollamaApi.SHOW);
    });
    const admin = new OllamaAdmin(server.url);
    expect(await admin.listModels()).toEqual([
      { name: "codellama:13b", sizeBytes: 7365960935, parameterSize: "13B", quantization: "Q4_0", family: "llama" },
      { name: "llama3:latest", sizeBytes: 3825819519, parameterSize: "7B", quantization: "Q4_0", family: "llama" },
    ]);
    expect((await admin.show("llama3.2")).modelInfo["llama.block_count"]).toBe(32);
  });

  it("OpenAIBackend reads OpenAI's chunk sequence and llama.cpp's usage and timings; the trained context is not taken for the served one", async () => {
    server = await scriptedServer((req, res) => {
      if (req.path === "/v1/models") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(openaiApi.LLAMA_CPP_MODELS);
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const events = [...openaiApi.CHAT_STREAM.slice(0, 3), openaiApi.LLAMA_CPP_LAST_CHUNK, "[DONE]"];
      res.end(events.map((data) => `data: ${data}\n\n`).join(""));
    });
    const backend = new OpenAIBackend(config("openai", server.url, "../models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"));
    // n_ctx_train (131072) is what the model was trained on, not the server's -c: Builder keeps its default.
    expect(await backend.prepare()).toMatchObject({ contextSize: 8192 });
    const result = await backend.generate(request);
    expect(result).toMatchObject({
      text: "Hello",
      stopReason: "stop",
      metrics: { promptTokens: 28, generatedTokens: 22, promptMs: 447.9, generationMs: 1317.7 },
    });
    expect(await listOpenAiModels(`${server.url}/v1`)).toEqual(["../models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"]);
  });
});
