import { statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir } from "../test-support/fixtures.js";
import { kvBytesPerToken } from "./memory-estimate.js";
import { factsFromOllamaModelInfo, fileTypeName, readGgufFacts } from "./model-shape.js";
import { writeSyntheticGguf } from "./synthetic-gguf.js";

describe("GGUF facts", () => {
  it("reads layers, heads, head size, context and quantization from a real GGUF header", async () => {
    const file = path.join(tempDir(), "shape.gguf");
    await writeSyntheticGguf(file, {
      blockCount: 3,
      headCount: 4,
      embeddingLength: 64,
      contextLength: 2048,
      name: "shape-test",
    });
    const facts = await readGgufFacts(file);
    expect(facts).toMatchObject({
      architecture: "llama",
      name: "shape-test",
      layers: 3,
      kvHeads: 4,
      keyLength: 16,
      valueLength: 16,
      contextLength: 2048,
      quantization: "F32",
    });
    expect(facts.weightsBytes).toBe(statSync(file).size);
    // 2 × 3 layers × 4 heads × 16 × 2 bytes
    expect(kvBytesPerToken(facts, "f16")).toBe(768);
  });

  it("reads KV heads given per layer (an array, as hybrid models write them)", async () => {
    const file = path.join(tempDir(), "per-layer.gguf");
    await writeSyntheticGguf(file, { blockCount: 3, perLayerKvHeads: true });
    const facts = await readGgufFacts(file);
    expect(facts.kvHeads).toEqual([4, 4, 4]);
    expect(kvBytesPerToken(facts, "f16")).toBe(768);
  });

  it("reports a file that is not GGUF as a model error", async () => {
    const file = path.join(tempDir(), "broken.gguf");
    writeFileSync(file, "not a gguf file at all");
    await expect(readGgufFacts(file)).rejects.toMatchObject({ code: "MODEL_LOAD_FAILED" });
  });

  it("names file types", () => {
    expect(fileTypeName(15)).toBe("Q4_K_M");
    expect(fileTypeName(1)).toBe("F16");
    expect(fileTypeName(undefined)).toBeUndefined();
  });
});

describe("Ollama model_info facts", () => {
  it("reads the llama3 example from Ollama's API docs: 32 layers, 8 KV heads, 4096/32 = 128 → 128 KiB per token", () => {
    const modelInfo = {
      "general.architecture": "llama",
      "general.file_type": 2,
      "general.parameter_count": 8030261248,
      "llama.attention.head_count": 32,
      "llama.attention.head_count_kv": 8,
      "llama.block_count": 32,
      "llama.context_length": 8192,
      "llama.embedding_length": 4096,
    };
    const facts = factsFromOllamaModelInfo(modelInfo, 4_661_224_676);
    expect(facts).toMatchObject({
      layers: 32,
      kvHeads: 8,
      keyLength: 128,
      contextLength: 8192,
      quantization: "Q4_0",
      parameterCount: 8030261248,
    });
    expect(kvBytesPerToken(facts!, "f16")).toBe(131_072);
  });

  it("prefers explicit key/value lengths (gemma3 style)", () => {
    const facts = factsFromOllamaModelInfo(
      {
        "general.architecture": "gemma3",
        "gemma3.block_count": 34,
        "gemma3.attention.head_count": 8,
        "gemma3.attention.head_count_kv": 4,
        "gemma3.attention.key_length": 256,
        "gemma3.embedding_length": 2560,
      },
      3e9,
    );
    expect(facts).toMatchObject({ keyLength: 256, valueLength: 256 });
  });

  it("returns undefined when the info lacks the shape", () => {
    expect(factsFromOllamaModelInfo({ "general.architecture": "llama" }, 1)).toBeUndefined();
    expect(factsFromOllamaModelInfo({}, 1)).toBeUndefined();
  });

  it("treats a per-layer KV head array that Ollama blanked (non-verbose show) as unknown, never as no cache", () => {
    const info = {
      "general.architecture": "granitehybrid",
      "granitehybrid.block_count": 4,
      "granitehybrid.attention.head_count": 32,
      "granitehybrid.embedding_length": 4096,
    };
    expect(factsFromOllamaModelInfo({ ...info, "granitehybrid.attention.head_count_kv": [] }, 1)).toBeUndefined();
    // Verbose: mamba layers have no KV heads, attention layers 8.
    const facts = factsFromOllamaModelInfo({ ...info, "granitehybrid.attention.head_count_kv": [0, 8, 0, 8] }, 1);
    expect(kvBytesPerToken(facts!, "f16")).toBe(2 * 16 * 128 * 2);
  });
});
