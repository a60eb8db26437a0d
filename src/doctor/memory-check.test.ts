import { describe, expect, it } from "vitest";
import { GIB } from "../format/numbers.js";
import { memoryFitCheck } from "./memory-check.js";

describe("the memory-fit check", () => {
  it("names the trained context, not a memory figure far beyond it, as the largest useful num_ctx", () => {
    const shape = {
      layers: 2,
      kvHeads: 4,
      keyLength: 16,
      valueLength: 16,
      weightsBytes: 5_000_000,
      contextLength: 4096,
    };
    const check = memoryFitCheck({
      shape,
      numCtx: 2048,
      numCtxSource: "configured",
      cacheType: "f16",
      budget: { kind: "gpu", bytes: 24 * GIB, label: "GPU memory of GPU 0: test" },
    });
    expect(check.status).toBe("ok");
    expect(check.message).toContain(
      "Largest num_ctx that fits: 4096 (the model is trained for 4096; memory would hold more).",
    );
    expect(check.message).not.toMatch(/\d{8,}/);
  });

  it("judges a model split over two cards with a margin on each card, naming both", () => {
    // 40 GiB of weights, no KV cache to speak of: 42 GiB with two margins, so it fits 42 GiB of cards, not 41.5.
    const shape = { layers: 64, kvHeads: 1, keyLength: 1, valueLength: 1, weightsBytes: 40 * GIB };
    const card = (index: number, gib: number) => ({
      index,
      name: `card ${index}`,
      driverVersion: "1",
      totalBytes: gib * GIB,
      freeBytes: gib * GIB,
    });
    const check = (gpus: ReturnType<typeof card>[]): ReturnType<typeof memoryFitCheck> =>
      memoryFitCheck({
        shape,
        numCtx: 1,
        numCtxSource: "configured",
        cacheType: "f16",
        budget: {
          kind: "gpu",
          bytes: gpus.reduce((sum, gpu) => sum + gpu.totalBytes, 0),
          label: "GPU memory of 2 cards, layers split over them: …",
          gpus,
        },
      });
    const tight = check([card(0, 21), card(1, 20.5)]);
    expect(tight.status).toBe("fail");
    expect(tight.message).toContain("2.0 GiB margin (1.0 GiB on each of 2 cards)");
    expect(tight.details).toMatchObject({ overhead_bytes: 2 * GIB, gpus: ["GPU 0: card 0", "GPU 1: card 1"] });
    expect(check([card(0, 21), card(1, 21.01)]).status).toBe("ok");
  });
});
