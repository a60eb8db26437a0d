import { hasOllamaModel } from "../../server-admin/ollama-admin.js";
import type { OllamaPs } from "../../http-client/ollama-replies.js";
import type { AcceleratorUsage } from "../types.js";

/** What `/api/ps` tells of one loaded model: its memory split and the context it was loaded with. */
export interface RunningModelState {
  accelerator: AcceleratorUsage;
  /** The window the server loaded the model with; undefined when the server does not say (older Ollama). */
  contextLength?: number;
}

/** The report's source for figures read from `/api/ps`. */
export const PS_SOURCE = "Ollama /api/ps";

/**
 * Reads `model`'s entry of an `/api/ps` reply (names match as Ollama matches them: case aside, a
 * missing tag is `latest`); undefined when the model is not loaded. Ollama names no GPU and counts no
 * layers there, so those stay unreported; a missing `size_vram` means none (older servers leave it
 * out for a model wholly in system memory).
 */
export function runningModelState(reply: OllamaPs, model: string): RunningModelState | undefined {
  const entry = reply.models.find((m) =>
    [m.name, m.model].some((name) => name !== undefined && hasOllamaModel([{ name, sizeBytes: 0 }], model)),
  );
  if (!entry) return undefined;
  const vramBytes = entry.size_vram ?? 0;
  return {
    accelerator: {
      source: PS_SOURCE,
      ...(vramBytes === 0 ? { gpuNames: [] } : {}),
      vramBytes,
      totalBytes: entry.size,
    },
    contextLength: entry.context_length,
  };
}
