import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseOllamarc } from "../config/legacy-ollamarc.js";
import type { BackendName, GenerationOptions } from "../config/schema.js";
import { withoutInvalidEntries } from "./doctor-config.js";
import { envPitfalls, findConfigPitfalls, type PitfallInput } from "./pitfalls.js";

const fixture = (name: string): string =>
  fileURLToPath(new URL(`./__fixtures__/sample-configs/${name}`, import.meta.url));

/** A 32B-class model: 64 layers, trained for 32k tokens. */
const MODEL = { layers: 64, contextLength: 32_768 };
const CORES = { physical: 8, logical: 16, source: "cpuinfo" as const };

function inputFromConfigFile(name: string, overrides: Partial<PitfallInput> = {}): PitfallInput {
  const raw = JSON.parse(readFileSync(fixture(name), "utf8")) as {
    backend: BackendName;
    options: Record<string, unknown>;
  };
  return {
    backend: raw.backend,
    rawOptions: raw.options,
    options: withoutInvalidEntries(raw).options as GenerationOptions,
    configWarnings: [],
    model: MODEL,
    cores: CORES,
    gpuFound: true,
    typicalPrompt: { tokens: 3000, source: "metrics" },
    env: {},
    ...overrides,
  };
}

const ids = (checks: ReadonlyArray<{ id: string }>): string[] => checks.map((check) => check.id).sort();

describe("config pitfalls on sample configs", () => {
  it("num_gpu: 1, gpu_layers: 40, num_ctx: 128000, num_thread: 16 on a 64-layer model and 8 physical cores", () => {
    const checks = findConfigPitfalls(inputFromConfigFile("gpu-index-mixup.json"));
    expect(ids(checks)).toEqual([
      "num-ctx-above-trained",
      "num-gpu-as-index",
      "partial-offload",
      "threads-above-cores",
    ]);
    expect(checks.every((check) => check.status === "warn")).toBe(true);
    const byId = Object.fromEntries(checks.map((check) => [check.id, check]));
    expect(byId["num-gpu-as-index"].message).toContain("is read as GPU number 1, not as 1 layer(s)");
    expect(byId["num-gpu-as-index"].fix).toContain('"gpu_index": 1');
    expect(byId["partial-offload"].message).toContain("40 of the model's 64 layers; the other 24 run on the CPU");
    expect(byId["threads-above-cores"].message).toContain("8 physical cores (16 logical)");
    expect(byId["threads-above-cores"].fix).toContain("at most 8");
    expect(byId["num-ctx-above-trained"].message).toContain("32768");
  });

  it("settings with no effect and a context smaller than the typical prompt", () => {
    const checks = findConfigPitfalls(inputFromConfigFile("no-effect.json"));
    expect(ids(checks)).toEqual(["no-effect-settings", "num-ctx-below-prompt"]);
    const [noEffect] = checks.filter((c) => c.id === "no-effect-settings");
    expect(noEffect.message).toContain("options.f16_kv: f16_kv has no effect");
    expect(noEffect.message).toContain("options.low_vram");
    const [small] = checks.filter((c) => c.id === "num-ctx-below-prompt");
    expect(small.message).toContain(
      "num_ctx: 1024 is below the typical prompt (3000 tokens, p95 of recorded runs) plus the answer (1024)",
    );
    expect(small.fix).toContain("at least 4096");
  });

  it("finds nothing in a clean config", () => {
    expect(findConfigPitfalls(inputFromConfigFile("clean.json"))).toEqual([]);
  });

  it("the same mix-up in a legacy .ollamarc: the loader's warnings are shown, and the effective options are checked", () => {
    const legacy = parseOllamarc(readFileSync(fixture("legacy.ollamarc"), "utf8"), "legacy.ollamarc");
    expect(legacy.options).toMatchObject({ gpu_layers: 40, num_ctx: 128_000, num_thread: 16 });
    const checks = findConfigPitfalls({
      ...inputFromConfigFile("clean.json"),
      rawOptions: {},
      options: legacy.options,
      configWarnings: legacy.warnings,
    });
    expect(ids(checks)).toEqual(["legacy-settings", "num-ctx-above-trained", "partial-offload", "threads-above-cores"]);
    const warning = checks.find((c) => c.id === "legacy-settings")?.message ?? "";
    expect(warning).toContain(
      "num_gpu=1 beside gpu_layers=40 is read as GPU number 1, not as 1 layer(s) on the GPU; gpu_layers=40 is kept",
    );
    expect(warning).toContain("f16_kv has no effect");
  });

  it("partial offload does not matter without a GPU on the embedded engine", () => {
    const checks = findConfigPitfalls(inputFromConfigFile("gpu-index-mixup.json", { gpuFound: false }));
    expect(ids(checks)).not.toContain("partial-offload");
  });

  it("a small gpu_layers is called out as a likely GPU number", () => {
    const checks = findConfigPitfalls({ ...inputFromConfigFile("clean.json"), options: { gpu_layers: 1 } });
    expect(checks.find((c) => c.id === "partial-offload")?.message).toContain("often means a GPU number was meant");
  });
});

describe("environment pitfalls", () => {
  it("flags variables Ollama does not read, and a quantized KV cache without flash attention", () => {
    const checks = envPitfalls(
      { OLLAMA_NUM_GPU: "1", OLLAMA_NUM_CTX: "32768", OLLAMA_KV_CACHE_TYPE: "q8_0" },
      "ollama",
    );
    expect(ids(checks)).toEqual(["env-no-effect", "kv-cache-needs-flash-attention"]);
    expect(checks[0].message).toContain("Ollama does not read OLLAMA_NUM_GPU, OLLAMA_NUM_CTX");
  });

  it("accepts a quantized KV cache with flash attention on", () => {
    expect(envPitfalls({ OLLAMA_KV_CACHE_TYPE: "q8_0", OLLAMA_FLASH_ATTENTION: "1" }, "ollama")).toEqual([]);
  });

  it("says Ollama server variables do nothing for the embedded engine", () => {
    expect(ids(envPitfalls({ OLLAMA_KV_CACHE_TYPE: "q4_0" }, "embedded"))).toEqual(["env-ollama-on-embedded"]);
  });
});
