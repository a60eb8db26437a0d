import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig, type BuilderConfig } from "../../config/load.js";
import { BuilderError } from "../../errors/errors.js";
import { CodeSuggestionSchema } from "../../task/schema.js";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { tempDir } from "../../test-support/fixtures.js";
import { openaiModels, scriptedServer, type ScriptedServer } from "../../test-support/scripted-server.js";
import { isolatedEnv, runSampleTask, useServedSampleWorkspace } from "../../test-support/e2e.js";
import { describeBackend } from "../descriptors.js";
import type { GenerateRequest } from "../types.js";
import { OpenAIBackend } from "./openai-backend.js";

const served = useServedSampleWorkspace();
const SECRET = "sk-test-0123456789abcdefSECRET";
const env = (): NodeJS.ProcessEnv => isolatedEnv(served.home, { BUILDER_TEST_KEY: SECRET });

describe("builder run --backend openai against builder serve", () => {
  it("produces a suggestion end to end, with token counts from usage", async () => {
    // Under a JSON schema the random model cannot quote the file's lines: it writes whole files.
    const result = await runSampleTask(
      { backend: "openai", serverUrl: `${served.serve.url}/v1`, model: "tiny:test" },
      ["--edits", "whole", "--num-ctx", "8192", "--report"],
      { cwd: served.workspace, env: env() },
    );
    expect(result.stderr).not.toMatch(/"level":"error"/);
    // builder serve tells its window as vLLM does (max_model_len): the one in effect, not the 8192 asked for.
    expect(result.stderr).toMatch(/context\s+4096 tokens \(server's; 8192 requested\)/);
    expect(result.code).toBe(0);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(result.stdout));
    expect(suggestion.verification.produced_by).toEqual({ backend: "openai", model: "tiny:test" });
    const metrics = jsonLines(result.stderr).find((line) => line.msg === "run metrics");
    expect(metrics).toMatchObject({ backend: "openai", success: true });
    expect(metrics?.prompt_tokens as number).toBeGreaterThan(100);
    expect(metrics?.generated_tokens as number).toBeGreaterThan(0);
    expect(typeof metrics?.tokens_per_sec).toBe("number");
  });

  it("says which model is missing (exit 3)", async () => {
    const result = await runSampleTask({ backend: "openai", serverUrl: served.serve.url, model: "gpt-4o" }, [], {
      cwd: served.workspace,
      env: env(),
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/MODEL_NOT_FOUND/);
  });
});

describe("OpenAIBackend against a scripted server", () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function config(
    url: string,
    model: string | undefined = "coder",
    options: Record<string, number> = {},
  ): BuilderConfig {
    const dir = tempDir("builder-openai-");
    writeFileSync(
      path.join(dir, "builder.config.json"),
      JSON.stringify({
        backend: "openai",
        model,
        openai: {
          base_url: url,
          api_key_env: "BUILDER_TEST_KEY",
          connect_timeout_ms: 2000,
          load_timeout_ms: 2000,
          idle_timeout_ms: 2000,
        },
        options,
      }),
    );
    return loadConfig({ cwd: dir, env: { HOME: dir } });
  }

  const request: GenerateRequest = {
    messages: [{ role: "user", content: "x" }],
    schema: { type: "object" },
    sampling: { maxTokens: 100, temperature: 0.1, seed: 4 },
  };

  it("picks the server's only model, posts response_format json_schema with the key as a bearer token, and reads usage and llama.cpp timings", async () => {
    process.env.BUILDER_TEST_KEY = SECRET;
    server = await scriptedServer((req, res) => {
      if (req.path === "/v1/models") return openaiModels(res);
      res.writeHead(200, { "content-type": "text/event-stream" });
      const chunk = (delta: Record<string, unknown>, finish: string | null): string =>
        `data: ${JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
      res.write(chunk({ role: "assistant", content: "" }, null));
      res.write(chunk({ content: '{"ok":' }, null));
      res.write(chunk({ content: "true}" }, null));
      res.write(chunk({}, "stop"));
      res.write(
        `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 11, completion_tokens: 5 }, timings: { prompt_ms: 3.5, predicted_ms: 40 } })}\n\n`,
      );
      res.end("data: [DONE]\n\n");
    });
    try {
      const backend = new OpenAIBackend(config(server.url, undefined));
      expect(await backend.prepare()).toMatchObject({
        backend: "openai",
        capabilities: describeBackend("openai").capabilities,
        model: "coder",
        contextSize: 16384,
      });
      const result = await backend.generate(request);
      expect(result).toMatchObject({
        text: '{"ok":true}',
        stopReason: "stop",
        metrics: { promptTokens: 11, generatedTokens: 5, promptMs: 3.5, generationMs: 40 },
      });
      const post = server.requests.find((r) => r.path === "/v1/chat/completions");
      expect(post?.headers.authorization).toBe(`Bearer ${SECRET}`);
      expect(post?.body).toMatchObject({
        model: "coder",
        stream: true,
        stream_options: { include_usage: true },
        max_tokens: 100,
        seed: 4,
        response_format: {
          type: "json_schema",
          json_schema: { name: "builder_answer", schema: { type: "object" }, strict: true },
        },
      });
    } finally {
      delete process.env.BUILDER_TEST_KEY;
    }
  });

  it("takes the context in effect from llama.cpp's /props, not the larger num_ctx requested", async () => {
    server = await scriptedServer((req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      if (req.path === "/props")
        res.end(JSON.stringify({ default_generation_settings: { n_ctx: 4096 }, total_slots: 1 }));
      else res.end(JSON.stringify({ data: [{ id: "coder", meta: { n_ctx_train: 32768 } }] }));
    });
    const backend = new OpenAIBackend(config(server.url, "coder", { num_ctx: 128000 }));
    expect(await backend.prepare()).toMatchObject({
      contextSize: 4096,
      contextOrigin: "server",
      requestedContextSize: 128000,
    });
  });

  it("keeps a smaller num_ctx within vLLM's max_model_len, and says the num_ctx is only requested where the server tells nothing", async () => {
    server = await scriptedServer((req, res) => {
      if (req.path === "/props") {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ data: [{ id: "coder", max_model_len: 32768 }, { id: "other" }] }));
    });
    expect(await new OpenAIBackend(config(server.url, "coder", { num_ctx: 8192 })).prepare()).toMatchObject({
      contextSize: 8192,
      contextOrigin: "requested",
      serverContextSize: 32768,
    });
    expect(await new OpenAIBackend(config(server.url, "other", { num_ctx: 8192 })).prepare()).toMatchObject({
      contextSize: 8192,
      contextOrigin: "requested",
    });
  });

  it("sends a GBNF grammar as llama.cpp's `grammar` field, without response_format, when the answer format is text", async () => {
    server = await scriptedServer((req, res) => {
      if (req.path === "/v1/models") return openaiModels(res);
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(
        `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: "ok" }, finish_reason: "stop" }] })}\n\n`,
      );
      res.end("data: [DONE]\n\n");
    });
    const backend = new OpenAIBackend(config(server.url));
    const grammar = 'root ::= "ok"\n';
    await backend.generate({ messages: request.messages, grammar, sampling: request.sampling });
    const body = server.requests.find((r) => r.path === "/v1/chat/completions")?.body as Record<string, unknown>;
    expect(body.grammar).toBe(grammar);
    expect(body.response_format).toBeUndefined();
  });

  it("explains a refused key without ever printing it, and a stream that ends without a finish", async () => {
    let mode: "unauthorized" | "cut" = "unauthorized";
    server = await scriptedServer((req, res) => {
      if (req.path === "/v1/models" || mode === "unauthorized") {
        if (mode === "cut") {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify({ data: [{ id: "coder" }] }));
          return;
        }
        res.writeHead(401, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "Invalid API key", type: "invalid_request_error" } }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end(`data: ${JSON.stringify({ choices: [{ delta: { content: "{" }, finish_reason: null }] })}\n\n`);
    });
    const cwd = tempDir();
    writeFileSync(
      path.join(cwd, "builder.config.json"),
      JSON.stringify({ openai: { api_key_env: "BUILDER_TEST_KEY" } }),
    );
    const cli = await runCli(
      ["run", "-m", "x", "--backend", "openai", "--host", server.url, "--model", "coder", "--log-level", "debug"],
      { cwd, env: env() },
    );
    expect(cli.code).toBe(6);
    expect(cli.stderr).toMatch(/Invalid API key\. Check the key in the environment variable BUILDER_TEST_KEY/);
    expect(server.requests[0]?.headers.authorization, "the key was sent").toBe(`Bearer ${SECRET}`);
    expect(cli.stderr + cli.stdout).not.toContain(SECRET);
    mode = "cut";
    const error = await new OpenAIBackend(config(server.url)).generate(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BuilderError);
    expect((error as BuilderError).message).toMatch(/ended the stream before its final message after 1 characters/);
  });
});
