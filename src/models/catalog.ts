import type { CatalogEntry } from "../config/schema.js";

/** When the built-in table was compiled; sizes are those of the published GGUF files then. */
export const BUILT_IN_CATALOG_AS_OF = "2025-01";

/**
 * Code models `builder models --recommend` chooses from. Shapes (layers, KV heads, head size) are
 * the models' own; sizes are the published GGUF files' (≈, in GB). Extend or override entries with
 * `models.catalog` in builder.config.json.
 */
export const BUILT_IN_CATALOG: readonly CatalogEntry[] = [
  {
    name: "Qwen2.5-Coder-32B-Instruct",
    params_b: 32.8,
    layers: 64,
    kv_heads: 8,
    head_dim: 128,
    context_length: 32_768,
    quants: [
      {
        quant: "Q8_0",
        size_gb: 34.82,
        ollama: "qwen2.5-coder:32b-instruct-q8_0",
        hf: "hf:bartowski/Qwen2.5-Coder-32B-Instruct-GGUF/Qwen2.5-Coder-32B-Instruct-Q8_0.gguf",
      },
      {
        quant: "Q6_K",
        size_gb: 26.89,
        ollama: "qwen2.5-coder:32b-instruct-q6_K",
        hf: "hf:bartowski/Qwen2.5-Coder-32B-Instruct-GGUF/Qwen2.5-Coder-32B-Instruct-Q6_K.gguf",
      },
      {
        quant: "Q4_K_M",
        size_gb: 19.85,
        ollama: "qwen2.5-coder:32b",
        hf: "hf:bartowski/Qwen2.5-Coder-32B-Instruct-GGUF/Qwen2.5-Coder-32B-Instruct-Q4_K_M.gguf",
      },
    ],
  },
  {
    name: "Codestral-22B-v0.1",
    params_b: 22.2,
    layers: 56,
    kv_heads: 8,
    head_dim: 128,
    context_length: 32_768,
    quants: [
      {
        quant: "Q8_0",
        size_gb: 23.64,
        ollama: "codestral:22b-v0.1-q8_0",
        hf: "hf:bartowski/Codestral-22B-v0.1-GGUF/Codestral-22B-v0.1-Q8_0.gguf",
      },
      {
        quant: "Q4_K_M",
        size_gb: 13.34,
        ollama: "codestral:22b",
        hf: "hf:bartowski/Codestral-22B-v0.1-GGUF/Codestral-22B-v0.1-Q4_K_M.gguf",
      },
    ],
  },
  {
    name: "Qwen2.5-Coder-14B-Instruct",
    params_b: 14.8,
    layers: 48,
    kv_heads: 8,
    head_dim: 128,
    context_length: 32_768,
    quants: [
      {
        quant: "Q8_0",
        size_gb: 15.7,
        ollama: "qwen2.5-coder:14b-instruct-q8_0",
        hf: "hf:bartowski/Qwen2.5-Coder-14B-Instruct-GGUF/Qwen2.5-Coder-14B-Instruct-Q8_0.gguf",
      },
      {
        quant: "Q6_K",
        size_gb: 12.12,
        ollama: "qwen2.5-coder:14b-instruct-q6_K",
        hf: "hf:bartowski/Qwen2.5-Coder-14B-Instruct-GGUF/Qwen2.5-Coder-14B-Instruct-Q6_K.gguf",
      },
      {
        quant: "Q4_K_M",
        size_gb: 8.99,
        ollama: "qwen2.5-coder:14b",
        hf: "hf:bartowski/Qwen2.5-Coder-14B-Instruct-GGUF/Qwen2.5-Coder-14B-Instruct-Q4_K_M.gguf",
      },
    ],
  },
  {
    name: "Qwen2.5-Coder-7B-Instruct",
    params_b: 7.6,
    layers: 28,
    kv_heads: 4,
    head_dim: 128,
    context_length: 32_768,
    quants: [
      {
        quant: "Q8_0",
        size_gb: 8.1,
        ollama: "qwen2.5-coder:7b-instruct-q8_0",
        hf: "hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q8_0.gguf",
      },
      {
        quant: "Q4_K_M",
        size_gb: 4.68,
        ollama: "qwen2.5-coder:7b",
        hf: "hf:Qwen/Qwen2.5-Coder-7B-Instruct-GGUF/qwen2.5-coder-7b-instruct-q4_k_m.gguf",
      },
    ],
  },
  {
    name: "DeepSeek-Coder-6.7B-Instruct",
    params_b: 6.7,
    layers: 32,
    kv_heads: 32,
    head_dim: 128,
    context_length: 16_384,
    quants: [
      {
        quant: "Q4_K_M",
        size_gb: 4.08,
        ollama: "deepseek-coder:6.7b",
        hf: "hf:TheBloke/deepseek-coder-6.7B-instruct-GGUF/deepseek-coder-6.7b-instruct.Q4_K_M.gguf",
      },
    ],
  },
  {
    name: "Qwen2.5-Coder-3B-Instruct",
    params_b: 3.1,
    layers: 36,
    kv_heads: 2,
    head_dim: 128,
    context_length: 32_768,
    quants: [
      {
        quant: "Q8_0",
        size_gb: 3.29,
        ollama: "qwen2.5-coder:3b-instruct-q8_0",
        hf: "hf:bartowski/Qwen2.5-Coder-3B-Instruct-GGUF/Qwen2.5-Coder-3B-Instruct-Q8_0.gguf",
      },
      {
        quant: "Q4_K_M",
        size_gb: 1.93,
        ollama: "qwen2.5-coder:3b",
        hf: "hf:bartowski/Qwen2.5-Coder-3B-Instruct-GGUF/Qwen2.5-Coder-3B-Instruct-Q4_K_M.gguf",
      },
    ],
  },
  {
    name: "Qwen2.5-Coder-1.5B-Instruct",
    params_b: 1.5,
    layers: 28,
    kv_heads: 2,
    head_dim: 128,
    context_length: 32_768,
    quants: [
      {
        quant: "Q8_0",
        size_gb: 1.65,
        ollama: "qwen2.5-coder:1.5b-instruct-q8_0",
        hf: "hf:bartowski/Qwen2.5-Coder-1.5B-Instruct-GGUF/Qwen2.5-Coder-1.5B-Instruct-Q8_0.gguf",
      },
      {
        quant: "Q4_K_M",
        size_gb: 0.99,
        ollama: "qwen2.5-coder:1.5b",
        hf: "hf:bartowski/Qwen2.5-Coder-1.5B-Instruct-GGUF/Qwen2.5-Coder-1.5B-Instruct-Q4_K_M.gguf",
      },
    ],
  },
];

/** The built-in table with the config's entries added; a config entry with a built-in's name replaces it. */
export function mergeCatalog(
  configured: readonly CatalogEntry[],
  builtIn: readonly CatalogEntry[] = BUILT_IN_CATALOG,
): CatalogEntry[] {
  const names = new Set(configured.map((entry) => entry.name.toLowerCase()));
  return [...builtIn.filter((entry) => !names.has(entry.name.toLowerCase())), ...configured];
}
