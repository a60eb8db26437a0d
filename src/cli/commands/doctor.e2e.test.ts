import { chmodSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { synthesizeTestModel, tempDir, writeFiles } from "../../test-support/fixtures.js";

interface Report {
  ok: boolean;
  checks: Array<{ id: string; status: string; message: string; details?: Record<string, unknown> }>;
}

let modelPath: string;
let home: string;

beforeAll(async () => {
  modelPath = await synthesizeTestModel();
  home = tempDir("builder-home-");
});

function workspace(options: Record<string, unknown>): string {
  const root = tempDir("builder-doctor-ws-");
  writeFiles(root, { "builder.config.json": JSON.stringify({ model: modelPath, options }) });
  return root;
}

/** A folder with an `nvidia-smi` that reports one GPU with `totalMiB` of memory. */
function fakeNvidiaSmi(totalMiB: number): string {
  const bin = tempDir("builder-bin-");
  writeFiles(bin, { "nvidia-smi": `#!/bin/sh\necho "Builder Test GPU, 999.1, ${totalMiB}, ${totalMiB - 10}"\n` });
  chmodSync(path.join(bin, "nvidia-smi"), 0o755);
  return bin;
}

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HOME: home, XDG_CACHE_HOME: home, ...extra });

describe("builder doctor --json", () => {
  it("exits 0 when every check passes or warns, with the report on stdout", async () => {
    const result = await runCli(["doctor", "--json"], { cwd: workspace({ num_ctx: 2048, num_thread: 1 }), env: env() });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.ok).toBe(true);
    expect(report.checks.map((c) => c.id)).toEqual(
      expect.arrayContaining(["config", "backend", "model", "gpu", "threads", "memory-fit", "sandbox"]),
    );
    expect(report.checks.find((c) => c.id === "model")?.message).toContain("2 layers, F32");
  });

  it("exits 1 when the context does not fit the GPU, naming the largest num_ctx that does", async () => {
    // 2 layers × 4 KV heads × (16 + 16) × 2 bytes = 512 B per token; 1050 MiB − 1 GiB margin − weights leaves ~25.5 MiB.
    const bin = fakeNvidiaSmi(1050);
    const result = await runCli(["doctor", "--json"], {
      cwd: workspace({ num_ctx: 128_000, num_thread: 1 }),
      env: env({ PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` }),
    });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    const gpu = report.checks.find((c) => c.id === "gpu");
    expect(gpu).toMatchObject({ status: "ok", message: expect.stringContaining("Builder Test GPU") as string });
    const memory = report.checks.find((c) => c.id === "memory-fit");
    expect(memory?.status).toBe("fail");
    expect(memory?.details).toMatchObject({ kv_bytes_per_token: 512, memory: "gpu", fits: false });
    const max = memory?.details?.max_num_ctx as number;
    expect(max).toBeGreaterThan(40_000);
    expect(max).toBeLessThan(128_000);
    expect(memory?.message).toContain(`The largest num_ctx that fits is ${max}`);
    const error = jsonLines(result.stderr).find((line) => "error" in line)?.error as { code: string };
    expect(error.code).toBe("CHECKS_FAILED");
  });

  it("exits 1 for a missing model, and prints a readable report without --json", async () => {
    const root = tempDir("builder-doctor-ws-");
    writeFiles(root, { "builder.config.json": JSON.stringify({ model: "models/nowhere.gguf" }) });
    const result = await runCli(["doctor"], { cwd: root, env: env() });
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/\[FAIL\] model\s+Model file .*nowhere\.gguf does not exist/);
    expect(result.stdout).toMatch(/\d+ ok, \d+ warnings?, 1 failed/);
  });
});
