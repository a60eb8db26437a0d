import { describe, expect, it } from "vitest";
import type { HostStatus, LoadedModel } from "../backends/host/host-admin.js";
import { hostPaths } from "../backends/host/host-files.js";
import { GIB } from "../format/numbers.js";
import { memoryFitAgainstHost } from "./host-fit.js";
import type { MemoryFitInput } from "./memory-check.js";

/** A 22 GiB model (the seed's qwen2.5-coder:32b Q5_K_M) on a 24 GiB card. */
const input: MemoryFitInput = {
  shape: { layers: 64, kvHeads: 8, keyLength: 128, valueLength: 128, weightsBytes: 22 * GIB, contextLength: 32768 },
  numCtx: 4096,
  numCtxSource: "configured",
  cacheType: "f16",
  budget: { kind: "gpu", bytes: 24 * GIB, label: "GPU memory of GPU 0: RTX 4090" },
};

function loaded(model: string, contextLength: number, bytes: number): LoadedModel {
  return {
    name: model,
    model_path: `/models/${model}.gguf`,
    pid: 42,
    context_length: contextLength,
    sequences: 1,
    busy: 0,
    queued: 0,
    size: bytes,
    size_vram: bytes,
    ram_bytes: 0,
    weights_bytes: bytes,
    context_bytes: 0,
    users: [],
    expires_at: new Date().toISOString(),
    loaded_at: new Date().toISOString(),
    device: "GPU",
  };
}

function host(models: LoadedModel[]): HostStatus {
  return {
    paths: hostPaths("/tmp/x"),
    record: { pid: 42, kind: "background", started_at: "", socket: "", log: "", version: "1" },
    models,
  };
}

describe("the memory fit against what the Builder host holds", () => {
  it("is the plain estimate when no host runs", () => {
    expect(memoryFitAgainstHost(input, undefined, "/models/qwen.gguf").status).toBe("ok");
  });

  it("needs nothing more when the host already holds the model with a window at least as large", () => {
    const check = memoryFitAgainstHost(input, host([loaded("qwen", 8192, 23 * GIB)]), "/models/qwen.gguf");
    expect(check.status).toBe("ok");
    expect(check.message).toContain("already holds this model with a 8192-token window");
    expect(check.message).toContain("none other loads");
  });

  it("says a smaller window is reloaded in place, never duplicated", () => {
    const check = memoryFitAgainstHost(
      { ...input, numCtx: 8192 },
      host([loaded("qwen", 4096, 23 * GIB)]),
      "/models/qwen.gguf",
    );
    expect(check.message).toContain("reloads it at the larger window (the copy is replaced, not duplicated)");
  });

  it("warns when the model fits only once the host unloads another model it holds", () => {
    const check = memoryFitAgainstHost(input, host([loaded("other", 4096, 10 * GIB)]), "/models/qwen.gguf");
    expect(check.status).toBe("warn");
    expect(check.message).toContain("less 10.0 GiB the Builder host (pid 42) holds for other");
    expect(check.message).toContain("It fits once the Builder host (pid 42) unloads other");
    expect(check.fix).toContain("builder stop /models/other.gguf");
  });
});
