import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../config/load.js";
import { tempDir, writeFiles } from "../../test-support/fixtures.js";
import { engineId } from "./engine-paths.js";

function modelFile(): string {
  const dir = tempDir("builder-engine-id-");
  writeFiles(dir, { "model.gguf": "GGUF" });
  return path.join(dir, "model.gguf");
}

describe("engineId (one resident engine per model and engine settings)", () => {
  it("gives runs on different GPUs (gpu_index) different engines, and the same GPU the same one", async () => {
    const model = modelFile();
    const config = loadConfig({ cwd: path.dirname(model), env: {} });
    const env = { CUDA_VISIBLE_DEVICES: "0,1" };
    const onGpu = (gpuIndex: number | undefined): Promise<string> => engineId(model, { ...config, gpuIndex }, env);
    expect(await onGpu(0)).not.toBe(await onGpu(1));
    expect(await onGpu(undefined)).not.toBe(await onGpu(0));
    expect(await onGpu(1)).toBe(await onGpu(1));
  });

  it("gives processes that see different CUDA_VISIBLE_DEVICES different engines", async () => {
    const model = modelFile();
    const config = loadConfig({ cwd: path.dirname(model), env: {} });
    expect(await engineId(model, config, { CUDA_VISIBLE_DEVICES: "0" })).not.toBe(
      await engineId(model, config, { CUDA_VISIBLE_DEVICES: "1" }),
    );
  });
});
