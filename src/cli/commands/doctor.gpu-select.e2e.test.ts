import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../test-support/cli.js";
import { fakeNvidiaSmiBin } from "../../test-support/fake-gpus.js";
import { tempDir, writeFiles } from "../../test-support/fixtures.js";
import { QWEN_32B_Q5_K_M, writeHeaderOnlyGguf } from "../../test-support/gguf-header.js";

interface Report {
  checks: Array<{ id: string; status: string; message: string; details?: Record<string, unknown> }>;
}

let modelPath: string;
let bin: string;
let home: string;

beforeAll(() => {
  modelPath = writeHeaderOnlyGguf(QWEN_32B_Q5_K_M);
  bin = fakeNvidiaSmiBin();
  home = tempDir("builder-home-");
});

async function doctor(
  config: Record<string, unknown>,
  extraEnv: NodeJS.ProcessEnv,
): Promise<{ code: number | null; report: Report }> {
  const root = tempDir("builder-doctor-gpus-");
  writeFiles(root, { "builder.config.json": JSON.stringify({ model: modelPath, ...config }) });
  const result = await runCli(["doctor", "--json"], {
    cwd: root,
    env: { HOME: home, XDG_CACHE_HOME: home, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`, ...extraEnv },
  });
  return { code: result.code, report: JSON.parse(result.stdout) as Report };
}

const memory = (report: Report): Report["checks"][number] | undefined =>
  report.checks.find((c) => c.id === "memory-fit");

describe("builder doctor judges memory on the GPUs the model can use", () => {
  it("with a 5090 and a 4090 and CUDA_VISIBLE_DEVICES=1, judges the 4090 alone: 128K context FAILs, naming the card and the largest num_ctx", async () => {
    const { code, report } = await doctor({ options: { num_ctx: 128_000 } }, { CUDA_VISIBLE_DEVICES: "1" });
    expect(code).toBe(1);
    const check = memory(report);
    expect(check?.status).toBe("fail");
    expect(check?.message).toContain("GPU 1: NVIDIA GeForce RTX 4090");
    expect(check?.message).not.toContain("5090");
    const max = check?.details?.max_num_ctx as number;
    expect(max).toBeGreaterThan(0);
    expect(max).toBeLessThan(8192);
    expect(check?.message).toContain(`The largest num_ctx that fits is ${max}`);
    expect(report.checks.find((c) => c.id === "gpu")?.message).toContain(
      "Used (CUDA_VISIBLE_DEVICES=1): GPU 1 NVIDIA GeForce RTX 4090",
    );
  });

  it("takes the card by UUID too, and gpu_index narrows to one card ", async () => {
    const byUuid = memory(
      (await doctor({ options: { num_ctx: 128_000 } }, { CUDA_VISIBLE_DEVICES: "GPU-4090bbbb" })).report,
    );
    expect(byUuid?.message).toContain("GPU 1: NVIDIA GeForce RTX 4090");
    const byIndex = memory((await doctor({ gpu_index: 1, options: { num_ctx: 128_000 } }, {})).report);
    expect(byIndex?.message).toContain("GPU 1: NVIDIA GeForce RTX 4090");
    expect(byIndex?.message).not.toContain("5090");
  });
});
