import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runTask, RunFailure } from "../../agent/run-task.js";
import { loadConfig, type BuilderConfig } from "../../config/load.js";
import { BuilderError } from "../../errors/errors.js";
import { CodeSuggestionSchema } from "../../task/schema.js";
import { createLogger } from "../../telemetry/logger.js";
import { jsonLines } from "../../test-support/cli.js";
import { isolatedEnv, loggedError, runSampleTask, useServedSampleWorkspace } from "../../test-support/e2e.js";
import { SAMPLE_TASK, tempDir } from "../../test-support/fixtures.js";
import {
  closedPort,
  ollamaDone,
  ollamaPiece,
  ollamaShow,
  scriptedServer,
  type ScriptedServer,
} from "../../test-support/scripted-server.js";
import { describeBackend } from "../descriptors.js";
import type { GenerateRequest } from "../types.js";
import { OllamaBackend } from "./ollama-backend.js";

const served = useServedSampleWorkspace();
const env = (): NodeJS.ProcessEnv => isolatedEnv(served.home);
const ollama = (serverUrl: string, model = "tiny:test"): Parameters<typeof runSampleTask>[0] => ({
  backend: "ollama",
  serverUrl,
  model,
});

describe("builder run --backend ollama against builder serve", () => {
  it("produces a suggestion end to end, with metrics from Ollama's counters", async () => {
    // Under a JSON schema the random model cannot quote the file's lines: it writes whole files.
    const result = await runSampleTask(ollama(served.serve.url), ["--edits", "whole"], {
      cwd: served.workspace,
      env: env(),
    });
    expect(result.stderr).not.toMatch(/"level":"error"/);
    expect(result.code, result.stderr.slice(-1500)).toBe(0);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(result.stdout));
    expect(suggestion.file_path).toBe("src/contact-service.ts");
    expect(suggestion.verification.produced_by).toEqual({ backend: "ollama", model: "tiny:test" });
    const metrics = jsonLines(result.stderr).find((line) => line.msg === "run metrics");
    expect(metrics).toMatchObject({ backend: "ollama", model: "tiny:test", success: true });
    for (const field of [
      "load_ms",
      "prompt_tokens",
      "prompt_ms",
      "time_to_first_token_ms",
      "generated_tokens",
      "tokens_per_sec",
    ]) {
      expect(typeof metrics?.[field], field).toBe("number");
    }
  });

  it("says to start Ollama when nothing listens at the host (exit 6)", async () => {
    const port = await closedPort();
    const result = await runSampleTask(ollama(`http://127.0.0.1:${port}`), [], { cwd: served.workspace, env: env() });
    expect(result.code).toBe(6);
    expect(result.stdout).toBe("");
    const error = loggedError(result.stderr);
    expect(error.code).toBe("BACKEND_UNAVAILABLE");
    expect(error.message).toMatch(/connection refused/);
    expect(error.message).toMatch(/ollama serve/);
  });

  it("says to pull a model the server does not have (exit 3)", async () => {
    const result = await runSampleTask(ollama(served.serve.url, "qwen2.5-coder:7b"), [], {
      cwd: served.workspace,
      env: env(),
    });
    expect(result.code).toBe(3);
    const error = loggedError(result.stderr);
    expect(error.code).toBe("MODEL_NOT_FOUND");
    expect(error.message).toContain("ollama pull qwen2.5-coder:7b");
  });
});

describe("OllamaBackend against scripted servers (the failures a real server cannot be made to show on demand)", () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  function config(
    url: string,
    extra: Record<string, unknown> = {},
    options: Record<string, unknown> = {},
  ): BuilderConfig {
    const dir = tempDir("builder-ollama-");
    writeFileSync(
      path.join(dir, "builder.config.json"),
      JSON.stringify({
        backend: "ollama",
        model: "m:latest",
        ollama: { host: url, connect_timeout_ms: 400, load_timeout_ms: 400, idle_timeout_ms: 400, ...extra },
        options: { num_predict: 900, ...options },
      }),
    );
    return loadConfig({ cwd: dir, env: { HOME: dir } });
  }

  const request = (overrides: Partial<GenerateRequest> = {}): GenerateRequest => ({
    messages: [
      { role: "system", content: "be brief" },
      { role: "user", content: "do it" },
    ],
    schema: { type: "object" },
    sampling: { maxTokens: 900, temperature: 0.2 },
    ...overrides,
  });

  async function failure(promise: Promise<unknown>): Promise<BuilderError> {
    const error = await promise.then(
      () => undefined,
      (e: unknown) => e,
    );
    const builderError = error instanceof RunFailure ? error.error : error;
    expect(builderError).toBeInstanceOf(BuilderError);
    return builderError as BuilderError;
  }

  it("sends the schema as format, streams, maps options (gpu_layers → num_gpu) and keep_alive, and reads the counters", async () => {
    server = await scriptedServer((req, res) => {
      if (req.path === "/api/show") return ollamaShow(res, 4096);
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.write(ollamaPiece('{"a":'));
      res.end(ollamaPiece("1}") + ollamaDone());
    });
    const backend = new OllamaBackend(
      config(server.url, { keep_alive: "30m" }, { gpu_layers: 3, num_thread: 2, top_k: 20 }),
    );
    const info = await backend.prepare();
    expect(info).toMatchObject({
      backend: "ollama",
      capabilities: describeBackend("ollama").capabilities,
      model: "m:latest",
      contextSize: 4096,
    });
    const chunks: string[] = [];
    const result = await backend.generate(
      request({
        schema: { type: "object", properties: { a: { type: "number" } } },
        onTextChunk: (t) => chunks.push(t),
      }),
    );
    expect(result.text).toBe('{"a":1}');
    expect(chunks).toEqual(['{"a":', "1}"]);
    expect(result.stopReason).toBe("stop");
    expect(result.metrics).toMatchObject({
      promptTokens: 300,
      promptMs: 2,
      generatedTokens: 20,
      generationMs: 10,
      loadMs: 1,
    });
    const chat = server.requests.find((r) => r.path === "/api/chat")?.body as Record<string, unknown>;
    expect(chat).toMatchObject({
      model: "m:latest",
      stream: true,
      keep_alive: "30m",
      format: { type: "object", properties: { a: { type: "number" } } },
      options: { num_ctx: 4096, num_predict: 900, num_gpu: 3, num_thread: 2, temperature: 0.2 },
    });
    expect((chat.options as Record<string, unknown>).main_gpu).toBeUndefined();
  });

  it("times out separately while connecting, loading (no first token) and streaming (idle)", async () => {
    let mode: "silent-show" | "silent-chat" | "stall" = "silent-show";
    server = await scriptedServer((req, res) => {
      if (req.path === "/api/show") {
        if (mode !== "silent-show") ollamaShow(res);
        return;
      }
      if (mode === "stall") {
        res.writeHead(200, { "content-type": "application/x-ndjson" });
        res.write(ollamaPiece("{"));
      }
    });
    const connect = await failure(new OllamaBackend(config(server.url)).prepare());
    expect(connect.code).toBe("BACKEND_TIMEOUT");
    expect(connect.message).toMatch(/ollama\.connect_timeout_ms/);
    mode = "silent-chat";
    const load = await failure(new OllamaBackend(config(server.url)).generate(request()));
    expect(load.code).toBe("BACKEND_TIMEOUT");
    expect(load.message).toMatch(/no token within 400 ms \(ollama\.load_timeout_ms\).*can take minutes/);
    mode = "stall";
    const idle = await failure(new OllamaBackend(config(server.url)).generate(request()));
    expect(idle.code).toBe("BACKEND_TIMEOUT");
    expect(idle.message).toMatch(/stopped sending the answer .*ollama\.idle_timeout_ms.* after 1 characters/);
  });

  it("reports a server error mid-stream, a malformed line and a cut stream, and never prints on stdout", async () => {
    let mode: "error" | "malformed" | "truncated" | "html" = "error";
    server = await scriptedServer((req, res) => {
      if (req.path === "/api/show") return ollamaShow(res);
      if (mode === "html") {
        res.writeHead(502, { "content-type": "text/html" });
        res.end("<html>Bad gateway</html>");
        return;
      }
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      if (mode === "error") res.end(ollamaPiece("{") + JSON.stringify({ error: "CUDA error: out of memory" }) + "\n");
      if (mode === "malformed") res.end(ollamaPiece("{") + "<html>proxy</html>\n");
      if (mode === "truncated") res.end(ollamaPiece('{"a"'));
    });
    const stdout = vi.spyOn(process.stdout, "write");
    const consoleLog = vi.spyOn(console, "log");
    try {
      const midStream = await failure(new OllamaBackend(config(server.url)).generate(request()));
      expect(midStream.code).toBe("BACKEND_ERROR");
      expect(midStream.message).toMatch(
        /reported an error while generating \(after 1 characters.*\): CUDA error: out of memory/,
      );
      mode = "malformed";
      const malformed = await failure(new OllamaBackend(config(server.url)).generate(request()));
      expect(malformed.code).toBe("BACKEND_ERROR");
      expect(malformed.message).toMatch(/malformed stream line.*<html>proxy/);
      mode = "truncated";
      const truncated = await failure(new OllamaBackend(config(server.url)).generate(request()));
      expect(truncated.code).toBe("BACKEND_ERROR");
      expect(truncated.message).toMatch(/ended the stream before its final message after 4 characters/);
      mode = "html";
      const html = await failure(new OllamaBackend(config(server.url)).generate(request()));
      expect(html.message).toMatch(/HTTP 502.*Bad gateway/);
      expect(stdout).not.toHaveBeenCalled();
      expect(consoleLog).not.toHaveBeenCalled();
    } finally {
      stdout.mockRestore();
      consoleLog.mockRestore();
    }
  });

  it("fails a malformed or cut-off answer through the agent loop with the right codes", async () => {
    let answer = ollamaPiece("not json at all") + ollamaDone();
    server = await scriptedServer((req, res) => {
      if (req.path === "/api/show") return ollamaShow(res);
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.end(answer);
    });
    const task = {
      ...SAMPLE_TASK,
      files: [...SAMPLE_TASK.files],
      acceptance: [...SAMPLE_TASK.acceptance],
      constraints: { loc_max: 50, pack: "" },
    };
    const malformed = await failure(
      runTask(task, { config: config(server.url), logger: createLogger({ level: "silent" }) }),
    );
    expect(malformed.code).toBe("GENERATION_FAILED");
    expect(malformed.message).toMatch(/not valid JSON/);
    answer = ollamaPiece('{"file_path":"src/contact-service.ts","sugg') + ollamaDone("length");
    const truncated = await failure(
      runTask(task, { config: config(server.url), logger: createLogger({ level: "silent" }) }),
    );
    expect(truncated.code).toBe("GENERATION_TRUNCATED");
  });

  it("refuses a prompt that does not fit num_ctx before sending it, and distrusts counters that overflow it", async () => {
    let overflowing = false;
    server = await scriptedServer((req, res) => {
      if (req.path === "/api/show") return ollamaShow(res, 2048);
      res.writeHead(200, { "content-type": "application/x-ndjson" });
      res.end(
        ollamaPiece("{}") +
          (overflowing ? ollamaDone().replace('"prompt_eval_count":300', '"prompt_eval_count":2040') : ollamaDone()),
      );
    });
    const tooSmall = await failure(
      new OllamaBackend(config(server.url, {}, { num_ctx: 512 })).generate(request({ sampling: { maxTokens: 900 } })),
    );
    expect(tooSmall.code).toBe("CONTEXT_OVERFLOW");
    expect(tooSmall.message).toMatch(/Raise options.num_ctx to at least \d+/);
    expect(server.requests.filter((r) => r.path === "/api/chat")).toHaveLength(0);
    overflowing = true;
    const shifted = await failure(
      new OllamaBackend(config(server.url)).generate(request({ sampling: { maxTokens: 900 } })),
    );
    expect(shifted.code).toBe("CONTEXT_OVERFLOW");
    expect(shifted.message).toMatch(/must have truncated or shifted the prompt/);
  });

  it("retries a refused connection with backoff, but not a server error", async () => {
    const port = await closedPort();
    const backend = new OllamaBackend(config(`http://127.0.0.1:${port}`));
    const prepared = backend.prepare();
    // The server comes up while the backend waits between attempts (after 250 ms, then 500 ms).
    await new Promise((resolve) => setTimeout(resolve, 100));
    server = await scriptedServer((req, res) => {
      if (req.path === "/api/show") return ollamaShow(res);
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: "llama runner process has terminated" }));
    }, port);
    await expect(prepared).resolves.toMatchObject({ backend: "ollama" });
    const failed = await failure(backend.generate(request()));
    expect(failed.code).toBe("BACKEND_ERROR");
    expect(failed.message).toMatch(/HTTP 500.*llama runner process has terminated/);
    expect(server.requests.filter((r) => r.path === "/api/chat")).toHaveLength(1);
  });
});
