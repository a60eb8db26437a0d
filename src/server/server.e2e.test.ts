import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeTestModel } from "../test-support/fixtures.js";
import { startServe, type ServeProcess } from "../test-support/serve.js";

let serve: ServeProcess;
let ollama: Ollama;

beforeAll(async () => {
  const modelPath = await synthesizeTestModel();
  serve = await startServe(modelPath, ["--name", "tiny:test", "--parallel", "2"]);
  ollama = new Ollama({ host: serve.url });
});

afterAll(async () => {
  await serve?.stop();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${serve.url}${path}`, {
    method: "POST",
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const oneOf = (id: string): Record<string, unknown> => ({
  type: "object",
  properties: { id: { type: "string", enum: [id] } },
  required: ["id"],
});

describe("builder serve speaks Ollama's API (driven by the official ollama client)", () => {
  it("lists, shows and reports the served model", async () => {
    expect((await ollama.version()).version).toMatch(/^\d+\.\d+\.\d+/);
    const { models } = await ollama.list();
    expect(models.map((m) => m.name)).toEqual(["tiny:test"]);
    expect(models[0].details).toMatchObject({ format: "gguf", family: "llama" });
    expect(models[0].digest).toMatch(/^[0-9a-f]{64}$/);
    const shown = await ollama.show({ model: "tiny:test" });
    expect(shown.parameters).toMatch(/num_ctx\s+4096/);
    expect((shown.model_info as unknown as Record<string, unknown>)["llama.context_length"]).toBe(4096);
    expect(shown.capabilities).toEqual(["completion"]);
    const running = await ollama.ps();
    expect(running.models[0]?.name).toBe("tiny:test");
    expect(new Date(running.models[0].expires_at).getTime()).toBeGreaterThan(Date.now());
    // As Ollama's ProcessModelResponse: the window loaded, and the part of `size` in VRAM.
    const raw = running.models[0] as unknown as Record<string, number>;
    expect(raw.context_length).toBe(4096);
    expect(raw.size_vram).toBeGreaterThanOrEqual(0);
    expect(raw.size_vram).toBeLessThanOrEqual(raw.size);
  });

  it("streams a chat answer constrained by a JSON schema, ending with Ollama's counters in nanoseconds", async () => {
    const stream = await ollama.chat({
      model: "tiny:test",
      messages: [{ role: "user", content: "Answer with the id." }],
      format: oneOf("alpha"),
      stream: true,
      options: { temperature: 0.7, seed: 3, num_predict: 64 },
    });
    let text = "";
    let final: Record<string, unknown> | undefined;
    for await (const part of stream) {
      text += part.message.content;
      if (part.done) final = part as unknown as Record<string, unknown>;
    }
    expect(JSON.parse(text)).toEqual({ id: "alpha" });
    expect(final).toMatchObject({ done: true, done_reason: "stop", model: "tiny:test" });
    for (const key of [
      "total_duration",
      "load_duration",
      "prompt_eval_count",
      "prompt_eval_duration",
      "eval_count",
      "eval_duration",
    ]) {
      expect(typeof final?.[key], key).toBe("number");
    }
    expect(final?.prompt_eval_count as number).toBeGreaterThan(10);
    // Nanoseconds: a real generation takes far more than 1000 ns.
    expect(final?.eval_duration as number).toBeGreaterThan(1000);
  });

  it("answers without streaming, with format json, and stops at num_predict with done_reason length", async () => {
    const chat = await ollama.chat({
      model: "tiny:test",
      messages: [{ role: "user", content: "json please" }],
      format: "json",
      stream: false,
      options: { num_predict: 400 },
    });
    expect(chat.done).toBe(true);
    expect(chat.message.role).toBe("assistant");
    const generated = await ollama.generate({
      model: "tiny:test",
      prompt: "Say something",
      system: "Be brief.",
      stream: false,
      options: { num_predict: 5, temperature: 1, seed: 1 },
    });
    expect(generated.done_reason).toBe("length");
    expect(generated.eval_count).toBeLessThanOrEqual(5);
    const streamed = await ollama.generate({
      model: "tiny:test",
      prompt: "Say something",
      stream: true,
      format: oneOf("beta"),
      options: { num_predict: 64 },
    });
    let text = "";
    for await (const part of streamed) text += part.response;
    expect(JSON.parse(text)).toEqual({ id: "beta" });
  });

  it("loads and unloads the model with an empty prompt and keep_alive", async () => {
    const unloaded = await post("/api/generate", { model: "tiny:test", keep_alive: 0 });
    expect(unloaded.json).toMatchObject({ done: true, done_reason: "unload", response: "" });
    expect((await ollama.ps()).models).toEqual([]);
    const loaded = await post("/api/chat", { model: "tiny:test", messages: [], keep_alive: "10m" });
    expect(loaded.json).toMatchObject({ done: true, done_reason: "load", message: { role: "assistant", content: "" } });
    expect((await ollama.ps()).models).toHaveLength(1);
    // A request right after a reload still works.
    const answer = await ollama.chat({
      model: "tiny:test",
      messages: [{ role: "user", content: "x" }],
      format: oneOf("gamma"),
      options: { num_predict: 32 },
    });
    expect(JSON.parse(answer.message.content)).toEqual({ id: "gamma" });
  });

  it("runs concurrent requests on parallel sequences without mixing their outputs", async () => {
    const ids = ["one", "two", "three", "four", "five"];
    const answers = await Promise.all(
      ids.map(async (id) => {
        const stream = await ollama.chat({
          model: "tiny:test",
          messages: [{ role: "user", content: `id ${id}` }],
          format: oneOf(id),
          stream: true,
          options: { num_predict: 64, seed: 7 },
        });
        let text = "";
        for await (const part of stream) text += part.message.content;
        return text;
      }),
    );
    expect(answers.map((text) => (JSON.parse(text) as { id: string }).id)).toEqual(ids);
  });

  it("stops generating and frees the sequence when the client disconnects mid-stream", async () => {
    const controller = new AbortController();
    const response = await fetch(`${serve.url}/api/generate`, {
      method: "POST",
      body: JSON.stringify({
        model: "tiny:test",
        prompt: "go on forever",
        options: { num_predict: 1900, temperature: 1, seed: 5 },
      }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.read().catch(() => undefined);
    // Both sequences are free again: two more requests complete.
    const after = await Promise.all(
      ["a", "b"].map((id) =>
        ollama.chat({
          model: "tiny:test",
          messages: [{ role: "user", content: id }],
          format: oneOf(id),
          options: { num_predict: 32 },
        }),
      ),
    );
    expect(after.map((r) => r.done)).toEqual([true, true]);
    const stopped = serve
      .stderr()
      .split("\n")
      .find((line) => line.includes("client disconnected"));
    expect(stopped, "the server logs the stopped generation").toBeDefined();
    expect((JSON.parse(stopped!) as { generated_tokens: number }).generated_tokens).toBeLessThan(1900);
  });
});

describe("builder serve speaks OpenAI's chat completions", () => {
  it("lists the model and answers with response_format json_schema and usage", async () => {
    const models = (await (await fetch(`${serve.url}/v1/models`)).json()) as {
      object: string;
      data: Array<{ id: string; object: string }>;
    };
    expect(models).toMatchObject({ object: "list", data: [{ id: "tiny:test", object: "model" }] });
    const { status, json } = await post("/v1/chat/completions", {
      model: "tiny:test",
      messages: [
        { role: "system", content: "Answer in JSON." },
        { role: "user", content: [{ type: "text", text: "the id" }] },
      ],
      response_format: { type: "json_schema", json_schema: { name: "answer", schema: oneOf("delta"), strict: true } },
      max_tokens: 64,
    });
    expect(status).toBe(200);
    expect(json).toMatchObject({
      object: "chat.completion",
      model: "tiny:test",
      choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant" } }],
    });
    const choice = (json.choices as Array<{ message: { content: string } }>)[0];
    expect(JSON.parse(choice.message.content)).toEqual({ id: "delta" });
    const usage = json.usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(usage.total_tokens).toBe(usage.prompt_tokens + usage.completion_tokens);
  });

  it("streams server-sent events with a finish reason, usage and [DONE]", async () => {
    const response = await fetch(`${serve.url}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({
        model: "tiny:test",
        messages: [{ role: "user", content: "x" }],
        stream: true,
        stream_options: { include_usage: true },
        response_format: { type: "json_schema", json_schema: { name: "a", schema: oneOf("eps") } },
        max_tokens: 64,
      }),
    });
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const events = (await response.text())
      .split("\n\n")
      .filter((e) => e.startsWith("data: "))
      .map((e) => e.slice(6));
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map(
      (e) =>
        JSON.parse(e) as {
          object: string;
          choices: Array<{ delta: { content?: string }; finish_reason: string | null }>;
          usage?: { completion_tokens: number };
        },
    );
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    const text = chunks.flatMap((c) => c.choices.map((choice) => choice.delta.content ?? "")).join("");
    expect(JSON.parse(text)).toEqual({ id: "eps" });
    expect(chunks.some((c) => c.choices[0]?.finish_reason === "stop")).toBe(true);
    expect(chunks.at(-1)?.usage?.completion_tokens).toBeGreaterThan(0);
  });
});

describe("builder serve answers bad requests with Ollama-style errors", () => {
  it("400 for malformed JSON, a missing body, a missing model and fields of the wrong type", async () => {
    expect(await post("/api/chat", "{not json")).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/invalid JSON/) },
    });
    expect(await post("/api/chat", "")).toMatchObject({ status: 400, json: { error: "missing request body" } });
    expect(await post("/api/chat", { messages: [] })).toMatchObject({
      status: 400,
      json: { error: "model is required" },
    });
    expect(await post("/api/chat", { model: "tiny:test", messages: "hello" })).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/messages/) },
    });
    expect(
      await post("/api/generate", { model: "tiny:test", prompt: "x", options: { temperature: "hot" } }),
    ).toMatchObject({ status: 400, json: { error: expect.stringMatching(/options\.temperature/) } });
    expect(await post("/api/generate", { model: "tiny:test", prompt: "x", keep_alive: "soon" })).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/keep_alive/) },
    });
    expect(
      await post("/v1/chat/completions", { model: "tiny:test", messages: [{ role: "user", content: 5 }] }),
    ).toMatchObject({
      status: 400,
      json: { error: { type: "invalid_request_error", message: expect.stringMatching(/messages\.0\.content/) } },
    });
  });

  it("404 for an unknown model, in each API's error format", async () => {
    expect(await post("/api/chat", { model: "llama3:8b", messages: [{ role: "user", content: "x" }] })).toMatchObject({
      status: 404,
      json: { error: expect.stringMatching(/model 'llama3:8b' not found/) },
    });
    expect(await post("/api/show", { model: "nope" })).toMatchObject({ status: 404 });
    expect(
      await post("/v1/chat/completions", { model: "nope", messages: [{ role: "user", content: "x" }] }),
    ).toMatchObject({ status: 404, json: { error: { type: "not_found_error" } } });
    await expect(ollama.chat({ model: "nope", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
      status_code: 404,
    });
  });

  it("refuses a prompt that does not fit instead of truncating it, and says what it cannot do", async () => {
    const tooLong = await post("/api/chat", {
      model: "tiny:test",
      messages: [{ role: "user", content: "x" }],
      options: { num_predict: 5000 },
      stream: false,
    });
    expect(tooLong).toMatchObject({
      status: 400,
      json: { error: expect.stringMatching(/does not fit .*not truncated/) },
    });
    const streamed = await post("/api/chat", {
      model: "tiny:test",
      messages: [{ role: "user", content: "x" }],
      options: { num_predict: 5000 },
    });
    expect(streamed.status, "an error before the first line keeps its status when streaming").toBe(400);
    expect(
      await post("/api/chat", {
        model: "tiny:test",
        messages: [{ role: "user", content: "x" }],
        tools: [{ type: "function" }],
      }),
    ).toMatchObject({ status: 400, json: { error: expect.stringMatching(/tools/) } });
    expect(await post("/api/create", { model: "x", from: "tiny:test" })).toMatchObject({
      status: 501,
      json: { error: expect.stringMatching(/cannot create/) },
    });
    const unknown = await fetch(`${serve.url}/api/embeddings-nope`);
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toMatch(/not found/);
  });
});
