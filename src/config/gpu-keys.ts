/**
 * One rule for the GPU keys that old guides mix up, shared by builder.config.json and `.ollamarc`.
 *
 * In Ollama `num_gpu` counts the layers offloaded to the GPU, but seed setups write it beside a real
 * layer count (`"gpu_layers": 40, "num_gpu": 1, "gpu": 1`) meaning "GPU number 1". Read literally,
 * the last key wins and a 64-layer model runs almost entirely on the CPU.
 */

/** num_gpu values at or below this look like a GPU number rather than a layer count. */
export const GPU_INDEX_LIKE = 8;

/** The GPU keys as a file wrote them (any may be missing). */
export interface GpuKeysInput {
  /** Ollama's `num_gpu`. */
  numGpu?: number;
  /** `gpu_layers` / `n_gpu_layers`. */
  gpuLayers?: number;
  /** An explicit GPU number: `gpu_index` in builder.config.json, `gpu` in `.ollamarc`. */
  gpuIndex?: number;
}

/** What the keys mean once the rule is applied. */
export interface GpuKeys {
  gpuLayers?: number;
  gpuIndex?: number;
  warnings: string[];
}

/**
 * Applies the rule: a small `num_gpu` (at most {@link GPU_INDEX_LIKE}) beside a larger `gpu_layers`,
 * or beside an explicit GPU number, is a GPU number: `gpu_layers` is kept and one warning says so.
 * Otherwise `num_gpu` is Ollama's layer count; `gpu_layers` wins when both are set.
 * `source` prefixes the warnings ("/home/me/.ollamarc", "builder.config.json: options").
 */
export function resolveGpuKeys(input: GpuKeysInput, source: string): GpuKeys {
  const { numGpu, gpuLayers, gpuIndex } = input;
  if (numGpu === undefined) return { gpuLayers, gpuIndex, warnings: [] };
  const besideLargerLayers = gpuLayers !== undefined && gpuLayers > numGpu;
  if (numGpu <= GPU_INDEX_LIKE && (besideLargerLayers || gpuIndex !== undefined)) {
    const index = gpuIndex ?? numGpu;
    const beside = [
      gpuLayers !== undefined ? `gpu_layers=${gpuLayers}` : undefined,
      gpuIndex !== undefined ? `a GPU number (${gpuIndex})` : undefined,
    ]
      .filter(Boolean)
      .join(" and ");
    const conflict =
      gpuIndex !== undefined && gpuIndex !== numGpu
        ? `; the explicit GPU number ${gpuIndex} wins over num_gpu=${numGpu}`
        : "";
    return {
      gpuLayers,
      gpuIndex: index,
      warnings: [
        `${source}: num_gpu=${numGpu} beside ${beside} is read as GPU number ${index}, not as ${numGpu} layer(s) on the GPU${gpuLayers !== undefined ? `; gpu_layers=${gpuLayers} is kept` : ""}${conflict}.`,
      ],
    };
  }
  if (gpuLayers !== undefined) {
    const warnings =
      gpuLayers === numGpu
        ? []
        : [
            `${source}: num_gpu=${numGpu} and gpu_layers=${gpuLayers} mean the same thing (layers on the GPU); gpu_layers wins.`,
          ];
    return { gpuLayers, gpuIndex, warnings };
  }
  const warning = numGpuWarning(source, numGpu);
  return { gpuLayers: numGpu, gpuIndex, warnings: warning ? [warning] : [] };
}

/**
 * Ollama's `num_gpu` alone counts layers offloaded to the GPU; old guides use it as a GPU index. A small
 * value most likely means "GPU n", so it gets a warning that explains both meanings.
 */
export function numGpuWarning(sourceName: string, value: number): string | undefined {
  if (value > GPU_INDEX_LIKE) return undefined;
  return (
    `${sourceName}: num_gpu=${value} is read as ${value} layer(s) offloaded to the GPU, not as GPU number ${value}. ` +
    `To pick a GPU, set gpu_index (or CUDA_VISIBLE_DEVICES; for Ollama, on the server); to offload the whole model, set gpu_layers to its layer count or leave it unset.`
  );
}
