import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startOllamaLikeServer, type OllamaLikeServer } from "../test-support/ollama-like-server.js";
import { hasOllamaModel, OllamaAdmin } from "../server-admin/ollama-admin.js";
import { listOpenAiModels } from "../server-admin/openai-models.js";

let server: OllamaLikeServer;
let unsupported: OllamaLikeServer;

beforeAll(async () => {
  server = await startOllamaLikeServer({
    version: "0.6.8",
    models: [
      {
        name: "qwen2.5-coder:7b",
        size: 4_683_087_332,
        parameterSize: "7.6B",
        quantization: "Q4_K_M",
        modelInfo: { "general.architecture": "qwen2", "qwen2.block_count": 28 },
      },
    ],
  });
  unsupported = await startOllamaLikeServer({ create: "unsupported" });
});

afterAll(async () => {
  await server.close();
  await unsupported.close();
});

describe("Ollama admin client against an HTTP server answering Ollama's API", () => {
  it("reads the version, the tags and a model's model_info", async () => {
    const admin = new OllamaAdmin(server.url);
    expect(await admin.version()).toBe("0.6.8");
    const models = await admin.listModels();
    expect(models).toEqual([
      {
        name: "qwen2.5-coder:7b",
        sizeBytes: 4_683_087_332,
        parameterSize: "7.6B",
        quantization: "Q4_K_M",
        family: "llama",
      },
    ]);
    expect(hasOllamaModel(models, "qwen2.5-coder:7b")).toBe(true);
    expect(hasOllamaModel(models, "qwen2.5-coder")).toBe(false);
    const details = await admin.show("qwen2.5-coder:7b");
    expect(details.modelInfo["qwen2.block_count"]).toBe(28);
    expect(details.quantization).toBe("Q4_K_M");
  });

  it("finds a model whatever the case of its name, as Ollama does", () => {
    const models = [
      { name: "qwen2.5-coder:32b-instruct-q5_K_M", sizeBytes: 1 },
      { name: "Library/Mixed", sizeBytes: 1 },
    ];
    expect(hasOllamaModel(models, "qwen2.5-coder:32b-instruct-q5_k_m")).toBe(true);
    expect(hasOllamaModel(models, "Qwen2.5-Coder:32B-Instruct-Q5_K_M")).toBe(true);
    expect(hasOllamaModel(models, "library/mixed:LATEST")).toBe(true);
    expect(hasOllamaModel(models, "qwen2.5-coder:32b-instruct-q4_k_m")).toBe(false);
  });

  it("sends create requests and reports the server's status", async () => {
    const admin = new OllamaAdmin(server.url);
    expect(
      await admin.create({
        model: "builder-crm",
        from: "qwen2.5-coder:7b",
        system: "be careful",
        parameters: { num_ctx: 8192 },
      }),
    ).toBe("success");
    const sent = server.requests.find((r) => r.path === "/api/create")?.body;
    expect(sent).toMatchObject({
      model: "builder-crm",
      from: "qwen2.5-coder:7b",
      system: "be careful",
      parameters: { num_ctx: 8192 },
      stream: false,
    });
  });

  it("turns a missing model into a backend error naming the status", async () => {
    await expect(new OllamaAdmin(server.url).show("nope")).rejects.toMatchObject({
      code: "BACKEND_ERROR",
      message: expect.stringContaining("404") as string,
    });
  });

  it("turns a plain-text 404 (a server without /api/create) into a clear error, printing nothing on stdout", async () => {
    const error = await new OllamaAdmin(unsupported.url).create({ model: "x", from: "y" }).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "BACKEND_ERROR",
      message: expect.stringContaining("404 page not found") as string,
    });
  });

  it("reports a closed port as unavailable, with what to do", async () => {
    const error = await new OllamaAdmin("http://127.0.0.1:9").version().catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "BACKEND_UNAVAILABLE",
      message: expect.stringContaining("ollama serve") as string,
    });
  });
});

describe("OpenAI-compatible /v1/models", () => {
  it("lists model ids", async () => {
    expect(await listOpenAiModels(`${server.url}/v1`)).toContain("qwen2.5-coder:7b");
  });

  it("reports a closed port as unavailable", async () => {
    await expect(listOpenAiModels("http://127.0.0.1:9/v1")).rejects.toMatchObject({ code: "BACKEND_UNAVAILABLE" });
  });

  it("reports a server that is not OpenAI-compatible", async () => {
    await expect(listOpenAiModels(`${server.url}/nope`)).rejects.toMatchObject({ code: "BACKEND_ERROR" });
  });
});
