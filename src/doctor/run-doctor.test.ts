import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIB } from "../format/numbers.js";
import { synthesizeTestModel, tempDir, writeFiles } from "../test-support/fixtures.js";
import { startOllamaLikeServer, type OllamaLikeServer } from "../test-support/ollama-like-server.js";
import type { GpuDetection } from "../system/gpu.js";
import { loadDoctorConfig } from "./doctor-config.js";
import { runDoctor } from "./run-doctor.js";
import type { DoctorReport } from "./types.js";

const RTX_4090: GpuDetection = {
  found: true,
  gpus: [
    {
      index: 0,
      name: "NVIDIA GeForce RTX 4090",
      driverVersion: "550.54",
      totalBytes: 24_564 * MIB,
      freeBytes: 24_000 * MIB,
    },
  ],
};
const CORES = { physical: 8, logical: 16, source: "cpuinfo" as const };

/** The example as Ollama reports it: 64 layers, 8 KV heads, 5120 / 40 = 128 per head, 20 GB of weights. */
const CODER_32B = {
  name: "qwen2.5-coder:32b",
  size: 20_000_000_000,
  parameterSize: "32.8B",
  quantization: "Q4_K_M",
  family: "qwen2",
  modelInfo: {
    "general.architecture": "qwen2",
    "general.parameter_count": 32_763_876_352,
    "qwen2.block_count": 64,
    "qwen2.attention.head_count": 40,
    "qwen2.attention.head_count_kv": 8,
    "qwen2.embedding_length": 5120,
    "qwen2.context_length": 32_768,
  },
};

let server: OllamaLikeServer;
beforeAll(async () => {
  server = await startOllamaLikeServer({ models: [CODER_32B] });
});
afterAll(async () => {
  await server.close();
});

function check(report: DoctorReport, id: string): DoctorReport["checks"][number] {
  const found = report.checks.find((c) => c.id === id);
  if (!found) throw new Error(`no ${id} check in ${report.checks.map((c) => c.id).join(", ")}`);
  return found;
}

function workspace(config: Record<string, unknown>): string {
  const root = tempDir("builder-doctor-");
  writeFiles(root, { "builder.config.json": JSON.stringify(config), "knowledge/project.md": "# Project\n" });
  return root;
}

describe("builder doctor on an Ollama server (metadata from /api/show)", () => {
  it("says 128000 tokens of context do not fit beside 20 GB of weights on a 24 GB card, and the largest num_ctx that does", async () => {
    const cwd = workspace({
      backend: "ollama",
      model: "qwen2.5-coder:32b",
      ollama: { host: server.url },
      options: { num_ctx: 128_000 },
    });
    const report = await runDoctor({ cwd, env: {}, gpuDetection: RTX_4090, cores: CORES });
    expect(check(report, "backend")).toMatchObject({
      status: "ok",
      message: expect.stringContaining("Ollama 0.6.8") as string,
    });
    expect(check(report, "model")).toMatchObject({ status: "ok" });
    const memory = check(report, "memory-fit");
    expect(memory.status).toBe("fail");
    expect(memory.details).toMatchObject({
      kv_bytes_per_token: 262_144,
      kv_cache_bytes: 128_000 * 262_144,
      max_num_ctx: 17_664,
      fits: false,
    });
    expect(memory.message).toContain("KV cache 31.3 GiB (256.0 KiB/token × num_ctx 128000, f16)");
    expect(memory.message).toContain("The largest num_ctx that fits is 17664");
    expect(check(report, "num-ctx-above-trained").status).toBe("warn");
    expect(report.ok).toBe(false);
  });

  it("passes at a context that fits, and a q8_0 cache makes room for more", async () => {
    const cwd = workspace({
      backend: "ollama",
      model: "qwen2.5-coder:32b",
      ollama: { host: server.url },
      options: { num_ctx: 16_384 },
    });
    const report = await runDoctor({ cwd, env: {}, gpuDetection: RTX_4090, cores: CORES });
    expect(check(report, "memory-fit")).toMatchObject({ status: "ok", details: { max_num_ctx: 17_664 } });
    const quantized = await runDoctor({
      cwd,
      env: { OLLAMA_KV_CACHE_TYPE: "q8_0", OLLAMA_FLASH_ATTENTION: "1" },
      gpuDetection: RTX_4090,
      cores: CORES,
    });
    expect(check(quantized, "memory-fit").details).toMatchObject({ kv_cache_type: "q8_0", max_num_ctx: 33_536 });
    expect(report.ok).toBe(true);
  });

  it("fails the model check for a model the server has not pulled", async () => {
    const cwd = workspace({ backend: "ollama", model: "llama3:70b", ollama: { host: server.url } });
    const report = await runDoctor({ cwd, env: {}, gpuDetection: RTX_4090, cores: CORES });
    expect(check(report, "model")).toMatchObject({
      status: "fail",
      fix: expect.stringContaining("ollama pull llama3:70b") as string,
    });
  });

  it("fails the backend check when nothing answers", async () => {
    const cwd = workspace({ backend: "ollama", model: "qwen2.5-coder:32b", ollama: { host: "http://127.0.0.1:9" } });
    const report = await runDoctor({ cwd, env: {}, gpuDetection: RTX_4090, cores: CORES });
    expect(check(report, "backend")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("not reachable") as string,
    });
  });
});

describe("builder doctor on the embedded engine (GGUF header)", () => {
  it("checks a synthesized model: present, its shape read, fits in RAM without a GPU", async () => {
    const modelPath = await synthesizeTestModel();
    const cwd = workspace({ model: modelPath, options: { num_ctx: 2048, num_thread: 1 } });
    const report = await runDoctor({
      cwd,
      env: {},
      gpuDetection: { found: false, reason: "test: no GPU" },
      cores: CORES,
    });
    expect(check(report, "backend").status).toBe("ok");
    expect(check(report, "model").message).toContain("llama, 2 layers, F32");
    expect(check(report, "gpu").status).toBe("warn");
    expect(check(report, "memory-fit")).toMatchObject({
      status: "ok",
      details: { memory: "ram", kv_bytes_per_token: 512 },
    });
    expect(report.ok).toBe(true);
  });

  it("accepts Ollama's num_gpu as a config key but warns about every pitfall of the issue's sample config", async () => {
    const modelPath = await synthesizeTestModel();
    const cwd = workspace({
      model: modelPath,
      options: { num_gpu: 1, gpu_layers: 40, num_ctx: 128_000, num_thread: 16 },
    });
    const report = await runDoctor({ cwd, env: {}, gpuDetection: RTX_4090, cores: CORES });
    expect(check(report, "config").status).toBe("ok");
    expect(check(report, "model").status).toBe("ok");
    for (const id of ["num-gpu-as-index", "threads-above-cores", "num-ctx-above-trained"])
      expect(check(report, id).status).toBe("warn");
    // num_gpu 1 beside gpu_layers 40 is a GPU number (the loader's rule), not a conflicting layer count.
    expect(check(report, "num-gpu-as-index").message).toContain("is read as GPU number 1");
  });

  it("runs every check on a config the schema rejects, failing the config check with the loader's message", async () => {
    const modelPath = await synthesizeTestModel();
    const cwd = workspace({ model: modelPath, options: { num_ctx: "big", num_thread: 16 } });
    const report = await runDoctor({ cwd, env: {}, gpuDetection: RTX_4090, cores: CORES });
    expect(check(report, "config")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("num_ctx") as string,
    });
    expect(check(report, "model").status).toBe("ok");
    expect(check(report, "threads-above-cores").status).toBe("warn");
    expect(report.ok).toBe(false);
  });

  it("fails for a missing model file", async () => {
    const cwd = workspace({ model: path.join(tempDir(), "missing.gguf") });
    const report = await runDoctor({ cwd, env: {}, gpuDetection: RTX_4090, cores: CORES });
    expect(check(report, "model")).toMatchObject({
      status: "fail",
      message: expect.stringContaining("does not exist") as string,
    });
  });
});

describe("doctor's config loading", () => {
  it("keeps the valid entries of an invalid config", () => {
    const cwd = workspace({
      model: "m.gguf",
      knowledge: ["knowledge/project.md"],
      options: { num_gpu: 1, gpu_layers: 40, num_ctx: 128_000 },
      bogus: true,
    });
    const loaded = loadDoctorConfig({ cwd, env: {} });
    expect(loaded.check.status).toBe("fail");
    expect(loaded.rawOptions).toMatchObject({ num_gpu: 1 });
    expect(loaded.config?.options).toEqual({ gpu_layers: 40, num_ctx: 128_000 });
    expect(loaded.config?.knowledge).toEqual([path.join(cwd, "knowledge/project.md")]);
  });
});
