import { describe, expect, it } from "vitest";
import { describeDevice, withAdvice } from "./llama-runtime.js";

describe("the device line of --report", () => {
  it("says CPU when a GPU build offloads no layer, and counts the layers when it does", () => {
    expect(describeDevice(false, 1)).toBe("CPU, 1 thread");
    expect(describeDevice("cuda", 8, { onGpu: 0, total: 65 })).toBe(
      "CPU (cuda build, 0 of 65 layers on the GPU), 8 threads",
    );
    expect(describeDevice("cuda", 8, { onGpu: 1, total: 65 })).toBe("GPU (cuda), 1 of 65 layers on the GPU, 8 threads");
  });
});

describe("llama.cpp lines that say what failed but not what to do", () => {
  it("a failed mlock (use_mlock: true under a low RLIMIT_MEMLOCK) comes with the fix; other lines pass unchanged", () => {
    const line =
      "warning: failed to mlock 536870912-byte buffer (after previously locking 0 bytes): Cannot allocate memory\nTry increasing RLIMIT_MEMLOCK ('ulimit -l' as root).";
    expect(withAdvice(line)).toContain("set use_mlock to false");
    expect(withAdvice(line)).toContain("LimitMEMLOCK=infinity");
    expect(withAdvice("llama_context: n_ctx = 4096")).toBe("llama_context: n_ctx = 4096");
  });
});
