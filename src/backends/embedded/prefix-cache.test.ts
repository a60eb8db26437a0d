import type { Token } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { deviceSelection } from "./device-selection.js";
import { prefixCacheKey, type EngineIdentity } from "./prefix-cache.js";

const IDENTITY: EngineIdentity = {
  modelPath: "/models/m.gguf",
  modelSize: 1000,
  modelMtimeMs: 1,
  contextSize: 4096,
  sequences: 1,
  flashAttention: "false",
  kvCacheTypes: "F16/F16",
  batchSize: 512,
  threads: 2,
  gpu: "cuda",
  devices: deviceSelection(0, { CUDA_VISIBLE_DEVICES: "0,1" }),
  gpuLayers: 33,
  llamaCpp: "ggml-org/llama.cpp@b1/localBuild",
};
const PREFIX = [1, 2, 3] as Token[];

describe("prefixCacheKey (one state file per model, engine settings and prefix)", () => {
  it("keys states saved on different GPUs (gpu_index, CUDA_VISIBLE_DEVICES) apart", () => {
    const onGpu1 = { ...IDENTITY, devices: deviceSelection(1, { CUDA_VISIBLE_DEVICES: "0,1" }) };
    const otherDevices = { ...IDENTITY, devices: deviceSelection(0, { CUDA_VISIBLE_DEVICES: "1" }) };
    expect(prefixCacheKey(onGpu1, PREFIX)).not.toBe(prefixCacheKey(IDENTITY, PREFIX));
    expect(prefixCacheKey(otherDevices, PREFIX)).not.toBe(prefixCacheKey(IDENTITY, PREFIX));
    expect(prefixCacheKey({ ...IDENTITY }, PREFIX)).toBe(prefixCacheKey(IDENTITY, PREFIX));
  });

  it("keys states of another layout apart: sequence count (one KV stream each), flash attention, KV cache types", () => {
    for (const other of [
      { ...IDENTITY, sequences: 2 },
      { ...IDENTITY, flashAttention: "true" },
      { ...IDENTITY, kvCacheTypes: "Q8_0/Q8_0" },
    ])
      expect(prefixCacheKey(other, PREFIX)).not.toBe(prefixCacheKey(IDENTITY, PREFIX));
  });

  it("keys different prefixes apart", () => {
    expect(prefixCacheKey(IDENTITY, [1, 2, 4] as Token[])).not.toBe(prefixCacheKey(IDENTITY, PREFIX));
  });
});
