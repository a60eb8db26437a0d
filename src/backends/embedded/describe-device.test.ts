import { describe, expect, it } from "vitest";
import { describeDevice } from "./llama-runtime.js";

describe("the device line of --report", () => {
  it("says CPU when a GPU build offloads no layer, and counts the layers when it does", () => {
    expect(describeDevice(false, 1)).toBe("CPU, 1 thread");
    expect(describeDevice("cuda", 8, { onGpu: 0, total: 65 })).toBe(
      "CPU (cuda build, 0 of 65 layers on the GPU), 8 threads",
    );
    expect(describeDevice("cuda", 8, { onGpu: 1, total: 65 })).toBe("GPU (cuda), 1 of 65 layers on the GPU, 8 threads");
  });
});
