import { describe, expect, it } from "vitest";
import { BUILT_IN_CATALOG, mergeCatalog } from "./catalog.js";
import { MIB } from "../format/numbers.js";
import { recommendModels } from "./recommend.js";

const RTX_4090 = 24_564 * MIB;

describe("model recommendations", () => {
  it("puts the 32B at Q4_K_M first on a 24 GB card at num_ctx 8192 (19.85 GB + 2 GiB cache + 1 GiB margin)", () => {
    const [first, second] = recommendModels(BUILT_IN_CATALOG, RTX_4090, 8192);
    expect(first).toMatchObject({
      name: "Qwen2.5-Coder-32B-Instruct",
      quant: "Q4_K_M",
      fits: true,
      kv_cache_bytes: 8192 * 262_144,
    });
    expect(second.name).toBe("Codestral-22B-v0.1");
  });

  it("at num_ctx 32768 the 32B no longer fits (8 GiB of cache) and moves to the end with its largest context", () => {
    const ranked = recommendModels(BUILT_IN_CATALOG, RTX_4090, 32_768);
    expect(ranked[0]).toMatchObject({ name: "Codestral-22B-v0.1", quant: "Q4_K_M", fits: true });
    const coder32 = ranked.find((r) => r.name === "Qwen2.5-Coder-32B-Instruct");
    // (24564 MiB − 19.85e9 B − 1 GiB) / 256 KiB = 18438 tokens → 18432
    expect(coder32).toMatchObject({ fits: false, quant: "Q4_K_M", max_num_ctx: 18_432 });
    expect(ranked.indexOf(coder32!)).toBeGreaterThan(ranked.findLastIndex((r) => r.fits));
  });

  it("on a 2-core CPU with no GPU, ranks models it can run at a usable speed first, never a 22B or 32B", () => {
    const ranked = recommendModels(BUILT_IN_CATALOG, 23.5 * 1024 * MIB, 8192, "f16", 1, 2);
    expect(ranked[0]?.size_gb).toBeLessThan(4);
    expect(
      ranked
        .slice(0, 3)
        .map((r) => r.params_b)
        .every((b) => b < 10),
    ).toBe(true);
    // The same memory on 32 cores: the biggest that fits leads again.
    expect(recommendModels(BUILT_IN_CATALOG, 23.5 * 1024 * MIB, 8192, "f16", 1, 32)[0]?.name).toBe(
      "Qwen2.5-Coder-32B-Instruct",
    );
  });

  it("picks the best quantization that fits: Q8_0 for a 7B on a 16 GB card", () => {
    const seven = recommendModels(BUILT_IN_CATALOG, 16 * 1024 * MIB, 8192).find(
      (r) => r.name === "Qwen2.5-Coder-7B-Instruct",
    );
    expect(seven).toMatchObject({ quant: "Q8_0", fits: true });
  });

  it("judges fit at the requested context, beyond the trained one too, and says so", () => {
    const deepseek = recommendModels(BUILT_IN_CATALOG, 80 * 1024 * MIB, 65_536).find((r) =>
      r.name.startsWith("DeepSeek"),
    );
    expect(deepseek).toMatchObject({ num_ctx: 65_536, trained_context: 16_384, beyond_training: true });
    // A 32K-trained 32B at 128000 needs 31.3 GiB of cache: it does not fit a 24 GB card, though it would at 32K.
    const coder32 = recommendModels(BUILT_IN_CATALOG, 24 * 1024 * MIB, 128_000).find(
      (r) => r.name === "Qwen2.5-Coder-32B-Instruct",
    );
    expect(coder32).toMatchObject({ num_ctx: 128_000, fits: false });
  });

  it("config entries extend the table and replace built-ins of the same name", () => {
    const custom = {
      name: "qwen2.5-coder-7b-instruct",
      params_b: 7.6,
      layers: 28,
      kv_heads: 4,
      head_dim: 128,
      quants: [{ quant: "Q5_K_M", size_gb: 5.44 }],
    };
    const merged = mergeCatalog([custom]);
    expect(merged.filter((e) => e.name.toLowerCase() === "qwen2.5-coder-7b-instruct")).toEqual([custom]);
    expect(merged.length).toBe(BUILT_IN_CATALOG.length);
  });
});
