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
});
