/**
 * Which GPUs a process's llama.cpp may use: `gpu_index` and the CUDA_VISIBLE_DEVICES it sees. Part of
 * the prefix cache's key, so runs on different GPUs never share a saved state.
 */
export function deviceSelection(gpuIndex: number | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return `gpu_index=${gpuIndex ?? "all"} CUDA_VISIBLE_DEVICES=${env.CUDA_VISIBLE_DEVICES ?? "unset"}`;
}
