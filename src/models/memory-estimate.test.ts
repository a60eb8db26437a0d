import { describe, expect, it } from "vitest";
import { GIB, MIB } from "../format/numbers.js";
import { formatBytes } from "../format/numbers.js";
import { estimateFit, kvBytesPerToken, parseKvCacheType, type ModelShape } from "./memory-estimate.js";

/** A 32B model as the issue describes it: 64 layers, 8 KV heads of size 128. */
const MODEL_32B: ModelShape = {
  layers: 64,
  kvHeads: 8,
  keyLength: 128,
  valueLength: 128,
  weightsBytes: 20e9,
  contextLength: 131072,
};

describe("KV cache arithmetic (hand-computed)", () => {
  it("32B, 64 layers × 8 KV heads × 128 at f16 needs 2·64·8·128·2 = 262144 B = 256 KiB per token", () => {
    expect(kvBytesPerToken(MODEL_32B, "f16")).toBe(262_144);
  });

  it("num_ctx 128000 needs 128000 × 256 KiB = 31.25 GiB of cache", () => {
    const fit = estimateFit({ shape: MODEL_32B, numCtx: 128_000, availableBytes: 24 * GIB });
    expect(fit.kvCacheBytes).toBe(128_000 * 262_144);
    expect(fit.kvCacheBytes / GIB).toBeCloseTo(31.25, 5);
  });

  it("does not fit beside 20 GB of weights on a 24 GB card, and names the largest context that does", () => {
    // An RTX 4090 reports 24564 MiB. Room for the cache: 24564 MiB − 20e9 B − 1 GiB margin.
    const available = 24_564 * MIB;
    const fit = estimateFit({ shape: MODEL_32B, numCtx: 128_000, availableBytes: available });
    expect(fit.fits).toBe(false);
    // 24564 MiB = 25,757,220,864 B; − 20,000,000,000 − 1,073,741,824 = 4,683,479,040 B of room
    const room = available - 20e9 - GIB;
    expect(room).toBe(4_683_479_040);
    expect(Math.floor(room / 262_144)).toBe(17_866);
    expect(fit.maxNumCtx).toBe(17_664); // rounded down to a multiple of 256
    expect(estimateFit({ shape: MODEL_32B, numCtx: fit.maxNumCtx, availableBytes: available }).fits).toBe(true);
    expect(estimateFit({ shape: MODEL_32B, numCtx: fit.maxNumCtx + 256, availableBytes: available }).fits).toBe(false);
  });

  it("quantized caches: q8_0 is 34/32 bytes and q4_0 18/32 bytes per element", () => {
    expect(kvBytesPerToken(MODEL_32B, "q8_0")).toBe(2 * 64 * 8 * 128 * 1.0625); // 139264
    expect(kvBytesPerToken(MODEL_32B, "q4_0")).toBe(2 * 64 * 8 * 128 * 0.5625); // 73728
  });

  it("a 7B with 28 layers and 4 KV heads of 128 (Qwen2.5-Coder-7B) needs 56 KiB per token", () => {
    const shape: ModelShape = { layers: 28, kvHeads: 4, keyLength: 128, valueLength: 128, weightsBytes: 4.68e9 };
    expect(kvBytesPerToken(shape)).toBe(57_344);
    // 32768 tokens: 1.75 GiB of cache
    expect(estimateFit({ shape, numCtx: 32_768, availableBytes: 8 * GIB }).kvCacheBytes).toBe(1.75 * GIB);
  });

  it("per-layer KV head counts are summed", () => {
    const shape: ModelShape = { layers: 3, kvHeads: [8, 0, 4], keyLength: 64, valueLength: 64, weightsBytes: 0 };
    expect(kvBytesPerToken(shape, "f32")).toBe(12 * 128 * 4);
  });

  it("different key and value sizes are both counted", () => {
    const shape: ModelShape = { layers: 2, kvHeads: 1, keyLength: 192, valueLength: 128, weightsBytes: 0 };
    expect(kvBytesPerToken(shape, "f16")).toBe(2 * (192 + 128) * 2);
  });

  it("partial offload counts only the offloaded share on the GPU", () => {
    const fit = estimateFit({ shape: MODEL_32B, numCtx: 8192, availableBytes: 24 * GIB, gpuLayers: 32 });
    expect(fit.deviceLayers).toBe(32);
    expect(fit.weightsBytes).toBe(10e9);
    expect(fit.kvCacheBytes).toBe(8192 * 131_072);
  });

  it("weights alone larger than the memory leave no context at all", () => {
    const fit = estimateFit({ shape: MODEL_32B, numCtx: 2048, availableBytes: 16 * GIB });
    expect(fit.fits).toBe(false);
    expect(fit.maxNumCtx).toBe(0);
  });
});

describe("helpers", () => {
  it("formats binary units", () => {
    expect(formatBytes(31.25 * GIB)).toBe("31.3 GiB");
    expect(formatBytes(256 * 1024)).toBe("256.0 KiB");
    expect(formatBytes(512 * MIB)).toBe("512.0 MiB");
  });

  it("parses cache types", () => {
    expect(parseKvCacheType("Q8_0")).toBe("q8_0");
    expect(parseKvCacheType("f16")).toBe("f16");
    expect(parseKvCacheType("int3")).toBeUndefined();
  });
});
