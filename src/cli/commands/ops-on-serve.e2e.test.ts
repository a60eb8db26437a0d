import { statSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { sampleWorkspace, synthesizeTestModel, tempDir, writeFiles } from "../../test-support/fixtures.js";
import { startServe, type ServeProcess } from "../../test-support/serve.js";

/**
 * doctor, models, modelfile --create and stats against Builder's own `builder serve` (a real
 * Ollama-API server on the real engine), not a hand-made imitation of Ollama.
 */

interface DoctorReport {
  ok: boolean;
  checks: Array<{ id: string; status: string; message: string; fix?: string; details?: Record<string, unknown> }>;
}

// The synthesized model's shape (src/models/synthetic-gguf.ts defaults): 2 blocks, 64-wide
// embeddings, 4 heads and as many KV heads, so each head is 64 / 4 = 16 wide.
const LAYERS = 2;
const KV_HEADS = 4;
const HEAD_DIM = 64 / 4;
/** K and V, per layer, per KV head, head_dim elements of 2 bytes (f16). */
const KV_BYTES_PER_TOKEN = 2 * LAYERS * KV_HEADS * HEAD_DIM * 2;

let serve: ServeProcess;
let modelPath: string;
let home: string;
/** A workspace whose config uses the ollama backend with the served model. */
let ollamaWorkspace: string;

// The machine's own OLLAMA_* settings must not leak into the runs; the model cache is an empty folder.
const env = (): NodeJS.ProcessEnv => ({
  HOME: home,
  XDG_CACHE_HOME: home,
  BUILDER_MODEL_CACHE: tempDir("builder-cache-"),
  OLLAMA_HOST: "",
  OLLAMA_MODEL: "",
});

beforeAll(async () => {
  modelPath = await synthesizeTestModel();
  home = tempDir("builder-home-");
  serve = await startServe(modelPath, ["--name", "tiny:test"]);
  ollamaWorkspace = tempDir("builder-ops-ws-");
  writeFiles(ollamaWorkspace, {
    "builder.config.json": JSON.stringify({
      backend: "ollama",
      model: "tiny:test",
      options: { num_ctx: 2048, num_predict: 256, num_thread: 1 },
    }),
    "knowledge/project.md": "# Project\nStrict TypeScript.\n",
  });
});

afterAll(async () => {
  await serve?.stop();
});

function errorOf(stderr: string): { code: string; message: string } | undefined {
  return jsonLines(stderr).find((line) => "error" in line && typeof line.error === "object")?.error as
    { code: string; message: string } | undefined;
}

describe("builder doctor --backend ollama against builder serve", () => {
  it("finds the server and the model, and sizes the KV cache from /api/show model_info (exit 0)", async () => {
    const served = (await (await fetch(`${serve.url}/api/version`)).json()) as { version: string };
    const result = await runCli(["doctor", "--json", "--host", serve.url], { cwd: ollamaWorkspace, env: env() });
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.ok).toBe(true);
    const check = (id: string): DoctorReport["checks"][number] | undefined => report.checks.find((c) => c.id === id);
    expect(check("backend")).toMatchObject({ status: "ok", details: { version: served.version } });
    expect(check("backend")?.message).toContain(`Ollama ${served.version} answers at ${serve.url} (1 model pulled)`);
    expect(check("model")).toMatchObject({
      status: "ok",
      message: expect.stringContaining("Ollama has tiny:test (F32") as string,
    });
    // The workspace names no file: the shape can only have come from /api/show, the size from /api/tags.
    const memory = check("memory-fit");
    expect(memory?.status).toBe("ok");
    expect(memory?.details).toMatchObject({
      num_ctx: 2048,
      kv_cache_type: "f16",
      kv_bytes_per_token: KV_BYTES_PER_TOKEN,
      kv_cache_bytes: KV_BYTES_PER_TOKEN * 2048,
      weights_bytes: statSync(modelPath).size,
      fits: true,
    });
    expect(memory?.message).toContain(`512 B/token × num_ctx 2048, f16`);
    expect(memory?.message).toContain(
      "Largest num_ctx that fits: 4096 (the model is trained for 4096; memory would hold more).",
    );
  });

  it("fails the model check with `ollama pull <model>` for a model the server does not have (exit 1)", async () => {
    const result = await runCli(["doctor", "--json", "--host", serve.url, "--model", "qwen2.5-coder:7b"], {
      cwd: ollamaWorkspace,
      env: env(),
    });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as DoctorReport;
    expect(report.ok).toBe(false);
    expect(report.checks.find((c) => c.id === "backend")?.status).toBe("ok");
    const model = report.checks.find((c) => c.id === "model");
    expect(model).toMatchObject({ status: "fail", message: `Ollama at ${serve.url} has not pulled qwen2.5-coder:7b.` });
    expect(model?.fix).toContain("`ollama pull qwen2.5-coder:7b`");
    expect(errorOf(result.stderr)).toMatchObject({
      code: "CHECKS_FAILED",
      message: expect.stringContaining("model") as string,
    });
  });
});

describe("builder doctor against builder serve with a model whose KV heads are given per layer", () => {
  let perLayer: ServeProcess | undefined;
  afterAll(async () => {
    await perLayer?.stop();
  });

  it("asks /api/show again verbosely when the per-layer array was blanked, and sizes the cache from it", async () => {
    // 6 layers: more than the 5 entries Ollama (and builder serve) keep in a non-verbose /api/show.
    const layers = 6;
    perLayer = await startServe(await synthesizeTestModel({ blockCount: layers, perLayerKvHeads: true }), [
      "--name",
      "hybrid:test",
    ]);
    const brief = await fetch(`${perLayer.url}/api/show`, {
      method: "POST",
      body: JSON.stringify({ model: "hybrid:test" }),
    });
    expect(
      ((await brief.json()) as { model_info: Record<string, unknown> }).model_info["llama.attention.head_count_kv"],
    ).toEqual([]);
    const result = await runCli(["doctor", "--json", "--host", perLayer.url, "--model", "hybrid:test"], {
      cwd: ollamaWorkspace,
      env: env(),
    });
    expect(result.code, result.stderr).toBe(0);
    const memory = (JSON.parse(result.stdout) as DoctorReport).checks.find((c) => c.id === "memory-fit");
    expect(memory).toMatchObject({
      status: "ok",
      details: { kv_bytes_per_token: 2 * layers * KV_HEADS * HEAD_DIM * 2 },
    });
  });
});

describe("builder models --backend ollama against builder serve", () => {
  it("lists the served model with its size, quantization, context length and fit", async () => {
    const result = await runCli(["models", "--json", "--host", serve.url], { cwd: ollamaWorkspace, env: env() });
    expect(result.code, result.stderr).toBe(0);
    const listing = JSON.parse(result.stdout) as { models: Array<Record<string, unknown>>; ollama_error?: string };
    expect(listing.ollama_error).toBeUndefined();
    expect(listing.models).toEqual([
      {
        source: "ollama",
        name: "tiny:test",
        size_bytes: statSync(modelPath).size,
        quantization: "F32",
        context_length: 4096,
        layers: LAYERS,
        fit: expect.objectContaining({ num_ctx: 2048, fits: true, max_num_ctx: 4096 }) as unknown,
        configured: true,
      },
    ]);
    const table = await runCli(["models", "--host", serve.url], { cwd: ollamaWorkspace, env: env() });
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/\*\s+ollama\s+tiny:test\s+[\d.]+ KiB\s+F32\s+4096\s+yes at 2048 \(max 4096\)/);
  });
});

describe("builder modelfile --create against builder serve", () => {
  it("says clearly that builder serve cannot create models, and exits 6", async () => {
    const result = await runCli(["modelfile", "--create", "tiny-team", "--host", serve.url], {
      cwd: ollamaWorkspace,
      env: env(),
    });
    expect(result.code).toBe(6);
    // The Modelfile itself is still written: it can be created where Ollama runs.
    expect(result.stdout).toContain("FROM tiny:test");
    const error = errorOf(result.stderr);
    expect(error?.code).toBe("BACKEND_ERROR");
    expect(error?.message).toContain(
      `The server at ${serve.url} does not support creating models (POST /api/create answered HTTP 501)`,
    );
    expect(error?.message).toContain("builder serve cannot create");
    expect(error?.message).toContain("ollama create tiny-team -f Modelfile");
    expect(result.stderr).not.toContain("Created Ollama model");
  });
});

describe("builder stats after a real run --backend ollama against builder serve", () => {
  it("counts the run under backend ollama with the token counts the server reported", async () => {
    const workspace = sampleWorkspace(modelPath, { num_predict: 900 });
    const viaServe = await runCli(
      ["run", "tasks/create-contact.json", "--backend", "ollama", "--host", serve.url, "--model", "tiny:test"],
      { cwd: workspace, env: env() },
    );
    expect(viaServe.code, viaServe.stderr).toBe(0);
    const served = jsonLines(viaServe.stderr).find((line) => line.msg === "run metrics");
    expect(served).toMatchObject({ backend: "ollama", model: "tiny:test", success: true });
    // The same task on the embedded engine in-process: same model, same tokenizer, same messages. Equal
    // prompt counts show the ollama line holds the server's prompt_eval_count, not Builder's estimate.
    // Both answer in JSON (the ollama backend's format), so that the prompts are the same.
    const inProcess = await runCli(["run", "tasks/create-contact.json", "--answer-format", "json"], {
      cwd: workspace,
      env: env(),
    });
    expect(inProcess.code, inProcess.stderr).toBe(0);
    const embedded = jsonLines(inProcess.stderr).find((line) => line.msg === "run metrics");
    expect(embedded).toMatchObject({ backend: "embedded", success: true });
    expect(served?.prompt_tokens).toBe(embedded?.prompt_tokens);

    const result = await runCli(["stats", "--json"], { cwd: workspace, env: env() });
    expect(result.code, result.stderr).toBe(0);
    const stats = JSON.parse(result.stdout) as {
      scan: { used: number };
      groups: Array<Record<string, unknown>>;
      total: { runs: number };
    };
    expect(stats.scan.used).toBe(2);
    expect(stats.total.runs).toBe(2);
    const ollama = stats.groups.find((group) => group.backend === "ollama");
    expect(ollama).toMatchObject({
      model: "tiny:test",
      runs: 1,
      successes: 1,
      prompt_tokens: served?.prompt_tokens,
      generated_tokens: served?.generated_tokens,
      tokens_per_sec_p50: served?.tokens_per_sec,
      latency_ms: { p50: served?.total_ms, p95: served?.total_ms },
      time_to_first_token_ms: { p50: served?.time_to_first_token_ms, p95: served?.time_to_first_token_ms },
    });
    expect(ollama?.prompt_tokens as number).toBeGreaterThan(100);
    expect(ollama?.generated_tokens as number).toBeGreaterThan(0);
    expect(ollama?.generated_tokens as number).toBeLessThanOrEqual(900);
    expect(stats.groups.find((group) => group.backend === "embedded")).toMatchObject({
      model: modelPath,
      runs: 1,
      prompt_tokens: embedded?.prompt_tokens,
    });
  });
});
