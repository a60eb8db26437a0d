import { copyFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { synthesizeTestModel, tempDir } from "../test-support/fixtures.js";
import { resolveModelPath } from "./resolve-model.js";

const REF = "hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q4_k_m.gguf";

describe("a model placed in the cache by hand (offline)", () => {
  let saved: string | undefined;
  beforeEach(() => {
    saved = process.env.HF_ENDPOINT;
    // Nothing listens on port 9: any attempt to download fails at once.
    process.env.HF_ENDPOINT = "http://127.0.0.1:9";
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = saved;
  });

  it("is found under its own file name for an hf: reference, without the network", async () => {
    const cacheDir = tempDir("builder-cache-");
    copyFileSync(await synthesizeTestModel(), path.join(cacheDir, "qwen2.5-coder-7b-instruct-q4_k_m.gguf"));
    expect(await resolveModelPath(REF, { cacheDir, progress: false })).toBe(
      path.join(cacheDir, "qwen2.5-coder-7b-instruct-q4_k_m.gguf"),
    );
  });

  it("when missing, the error says the exact path to place it at", async () => {
    const cacheDir = tempDir("builder-cache-");
    await expect(resolveModelPath(REF, { cacheDir, progress: false })).rejects.toThrow(
      `place it at ${path.join(cacheDir, "qwen2.5-coder-7b-instruct-q4_k_m.gguf")}`,
    );
  });
});
