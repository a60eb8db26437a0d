import { describe, expect, it } from "vitest";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { loadConfig } from "./load.js";

function configIn(content: unknown): string {
  const root = tempDir("builder-config-");
  writeFiles(root, { "builder.config.json": JSON.stringify(content) });
  return root;
}

describe("config sections for operations and learning", () => {
  it("reads models.catalog, cost and few_shot", () => {
    const entry = {
      name: "Team-Coder",
      params_b: 3,
      layers: 24,
      kv_heads: 4,
      head_dim: 128,
      quants: [{ quant: "Q4_K_M", size_gb: 2, ollama: "team:3b" }],
    };
    const config = loadConfig({
      cwd: configIn({
        models: { catalog: [entry] },
        cost: {
          power_watts: 450,
          electricity_price_per_kwh: 0.25,
          currency: "EUR",
          api_prices: { x: { input_per_million: 1, output_per_million: 2 } },
        },
        few_shot: { examples: 2, max_tokens: 1500 },
      }),
      env: {},
    });
    expect(config.modelCatalog).toEqual([entry]);
    expect(config.cost).toMatchObject({ power_watts: 450, currency: "EUR" });
    expect(config.fewShot).toEqual({ examples: 2, maxTokens: 1500 });
  });

  it("defaults: empty catalog and cost, few-shot off", () => {
    const config = loadConfig({ cwd: configIn({}), env: {} });
    expect(config.modelCatalog).toEqual([]);
    expect(config.cost).toEqual({});
    expect(config.fewShot).toEqual({ examples: 0, maxTokens: 2048 });
  });

  it("names the field of an invalid entry", () => {
    expect(() => loadConfig({ cwd: configIn({ cost: { power_watts: -5 } }), env: {} })).toThrow(/cost\.power_watts/);
    expect(() => loadConfig({ cwd: configIn({ models: { catalog: [{ name: "x" }] } }), env: {} })).toThrow(
      /models\.catalog\.0\.params_b/,
    );
  });
});
