import { describe, expect, it } from "vitest";
import { PS, PS_CPU_ONLY, PS_WITH_CONTEXT } from "../../http-client/__fixtures__/ollama-api.js";
import { parseReply } from "../../http-client/http.js";
import { OllamaPsSchema } from "../../http-client/ollama-replies.js";
import { runningModelState } from "./running-model.js";

const ps = (text: string): ReturnType<typeof OllamaPsSchema.parse> => parseReply(OllamaPsSchema, text);

describe("reading a loaded model's state from Ollama's /api/ps (replies as Ollama's docs publish them)", () => {
  it("takes size_vram and size, and the context the model was loaded with when the server sends it", () => {
    expect(runningModelState(ps(PS_WITH_CONTEXT), "gemma3")).toEqual({
      accelerator: { source: "Ollama /api/ps", vramBytes: 5333539264, totalBytes: 6591830464 },
      contextLength: 4096,
    });
  });

  it("leaves the context unreported when an older server does not send context_length", () => {
    const state = runningModelState(ps(PS), "Mistral");
    expect(state?.accelerator.vramBytes).toBe(5137025024);
    expect(state?.contextLength).toBeUndefined();
  });

  it("reads a missing size_vram as a model wholly on the CPU", () => {
    expect(runningModelState(ps(PS_CPU_ONLY), "mistral:latest")?.accelerator).toEqual({
      source: "Ollama /api/ps",
      gpuNames: [],
      vramBytes: 0,
      totalBytes: 5137025024,
    });
  });

  it("finds nothing for a model that is not loaded", () => {
    expect(runningModelState(ps(PS), "qwen2.5-coder:7b")).toBeUndefined();
  });
});
