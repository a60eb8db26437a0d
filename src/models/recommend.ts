import type { CatalogEntry } from "../config/schema.js";
import { estimateFit, marginForCards, type KvCacheType } from "./memory-estimate.js";

/** One catalog model at the best quantization that fits (or its smallest, when none does). */
export interface Recommendation {
  name: string;
  params_b: number;
  quant: string;
  size_gb: number;
  ollama?: string;
  hf?: string;
  /** The context the estimate used: the requested one (a 128K request is judged at 128K, whatever the training). */
  num_ctx: number;
  /** The model's trained context, when the catalog knows it. */
  trained_context?: number;
  /** True when num_ctx is beyond the trained context (it needs rope scaling, and quality may drop). */
  beyond_training: boolean;
  kv_cache_bytes: number;
  total_bytes: number;
  /** The largest context (multiple of 256) that fits in memory at this quantization. */
  max_num_ctx: number;
  fits: boolean;
}

/**
 * Ranks catalog models for the memory: each at its largest (best) quantization that fits weights +
 * KV cache at `numCtx` + margin; bigger models first (a 32B at Q4_K_M writes better code than a 14B
 * at Q8_0). Models that fit at no quantization come last, at their smallest one.
 */
export function recommendModels(
  catalog: readonly CatalogEntry[],
  availableBytes: number,
  numCtx: number,
  cacheType: KvCacheType = "f16",
  /** The GPUs the memory is split over (each needs its own margin); 1 for one card or RAM. */
  cards = 1,
  /** Without a GPU: the physical cores, so that models too slow to use on them rank after those that are not. */
  cpuCores?: number,
): Recommendation[] {
  const fitting: Recommendation[] = [];
  const tooBig: Recommendation[] = [];
  for (const entry of catalog) {
    // Judged at what was asked: capping at the trained context would call a 32K model fine for a 128K request.
    const context = numCtx;
    const shape = {
      layers: entry.layers,
      kvHeads: entry.kv_heads,
      keyLength: entry.head_dim,
      valueLength: entry.head_dim,
      contextLength: entry.context_length,
    };
    const byQuality = [...entry.quants].sort((a, b) => b.size_gb - a.size_gb);
    const candidates = byQuality.map((quant) => {
      const fit = estimateFit({
        shape: { ...shape, weightsBytes: quant.size_gb * 1e9 },
        numCtx: context,
        cacheType,
        availableBytes,
        overheadBytes: marginForCards(cards),
      });
      const recommendation: Recommendation = {
        name: entry.name,
        params_b: entry.params_b,
        quant: quant.quant,
        size_gb: quant.size_gb,
        ollama: quant.ollama,
        hf: quant.hf,
        num_ctx: context,
        trained_context: entry.context_length,
        beyond_training: entry.context_length !== undefined && context > entry.context_length,
        kv_cache_bytes: fit.kvCacheBytes,
        total_bytes: fit.totalBytes,
        max_num_ctx: fit.maxNumCtx,
        fits: fit.fits,
      };
      return recommendation;
    });
    const best = candidates.find((c) => c.fits);
    if (best) fitting.push(best);
    else tooBig.push(candidates[candidates.length - 1]);
  }
  const order = (a: Recommendation, b: Recommendation): number => b.params_b - a.params_b || b.size_gb - a.size_gb;
  if (cpuCores === undefined) return [...fitting.sort(order), ...tooBig.sort(order)];
  // On the CPU, generation reads every weight once per token: a model larger than the cores can stream
  // a few times a second is unusable however well it writes code. Usable ones first, bigger first; then
  // the rest, fastest (smallest) first.
  const usable = (r: Recommendation): boolean => cpuTokensPerSec(r.size_gb, cpuCores) >= MIN_USABLE_TOKENS_PER_SEC;
  const slow = fitting.filter((r) => !usable(r)).sort((a, b) => a.size_gb - b.size_gb);
  return [...fitting.filter(usable).sort(order), ...slow, ...tooBig.sort(order)];
}

/** Below this many tokens per second a coding answer (hundreds of tokens) takes minutes. */
const MIN_USABLE_TOKENS_PER_SEC = 3;
/** Memory bandwidth one core of a desktop CPU sustains for llama.cpp's matrix-vector products, in bytes/s. */
const BYTES_PER_SEC_PER_CORE = 5e9;
/** A dual-channel DDR5 machine's ceiling, whatever the core count. */
const MAX_CPU_BYTES_PER_SEC = 60e9;

/** A rough generation speed on `cores` CPU cores: the bandwidth they sustain over the weights read per token. */
export function cpuTokensPerSec(sizeGb: number, cores: number): number {
  return Math.min(cores * BYTES_PER_SEC_PER_CORE, MAX_CPU_BYTES_PER_SEC) / (sizeGb * 1e9);
}
