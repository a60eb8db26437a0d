import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../../test-support/cli.js";
import { synthesizeTestModel, tempDir, writeFiles } from "../../test-support/fixtures.js";

interface Listing {
  models: Array<{
    source: string;
    name: string;
    size_bytes: number;
    quantization?: string;
    context_length?: number;
    layers?: number;
    fit?: { num_ctx: number; fits: boolean };
  }>;
}

let cacheDir: string;
let home: string;

beforeAll(async () => {
  home = tempDir("builder-home-");
  cacheDir = tempDir("builder-cache-");
  const model = await synthesizeTestModel({ contextLength: 2048, blockCount: 3 });
  mkdirSync(path.join(cacheDir, "sub"), { recursive: true });
  copyFileSync(model, path.join(cacheDir, "sub", "coder-tiny.gguf"));
  writeFiles(cacheDir, { "notes.txt": "not a model", "broken.gguf": "truncated download" });
});

describe("builder models", () => {
  it("lists the GGUF files in the model cache with size, quantization, context and fit", async () => {
    const result = await runCli(["models", "--json"], {
      cwd: home,
      env: { HOME: home, BUILDER_MODEL_CACHE: cacheDir },
    });
    expect(result.code).toBe(0);
    const listing = JSON.parse(result.stdout) as Listing;
    expect(listing.models.map((m) => path.basename(m.name))).toEqual(["broken.gguf", "coder-tiny.gguf"]);
    const tiny = listing.models[1];
    expect(tiny).toMatchObject({
      source: "gguf",
      quantization: "F32",
      context_length: 2048,
      layers: 3,
      fit: { num_ctx: 2048, fits: true },
    });
    expect(tiny.size_bytes).toBeGreaterThan(100_000);
    expect(listing.models[0]).toMatchObject({
      error: expect.stringContaining("Cannot read the GGUF header") as string,
    });
  });

  it("prints a table for people", async () => {
    const result = await runCli(["models", "--num-ctx", "1024"], {
      cwd: home,
      env: { HOME: home, BUILDER_MODEL_CACHE: cacheDir },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/gguf\s+\S*coder-tiny\.gguf\s+[\d.]+ KiB\s+F32\s+2048\s+yes at 1024 \(max 2048\)/);
  });

  it("--recommend ranks the built-in table plus config entries", async () => {
    const root = tempDir("builder-models-ws-");
    const entry = {
      name: "Team-Coder-1B",
      params_b: 1,
      layers: 16,
      kv_heads: 2,
      head_dim: 64,
      quants: [{ quant: "Q4_K_M", size_gb: 0.7, ollama: "team-coder:1b" }],
    };
    writeFiles(root, { "builder.config.json": JSON.stringify({ models: { catalog: [entry] } }) });
    const result = await runCli(["models", "--recommend", "--json"], {
      cwd: root,
      env: { HOME: home, BUILDER_MODEL_CACHE: cacheDir },
    });
    expect(result.code).toBe(0);
    const listing = JSON.parse(result.stdout) as {
      catalog_as_of: string;
      recommendations: Array<{ name: string; fits: boolean }>;
    };
    const names = listing.recommendations.map((r) => r.name);
    expect(names).toContain("Team-Coder-1B");
    expect(names).toContain("Qwen2.5-Coder-7B-Instruct");
    expect(listing.catalog_as_of).toMatch(/^\d{4}-\d{2}$/);
  });
});
