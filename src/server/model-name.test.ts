import { describe, expect, it } from "vitest";
import { defaultModelName, normaliseModelName } from "./model-facts.js";

describe("builder serve --name", () => {
  it("keeps the name's case, so clients asking for qwen2.5-coder:32b-instruct-q5_K_M find it in /api/tags", () => {
    expect(normaliseModelName("qwen2.5-coder:32b-instruct-q5_K_M")).toBe("qwen2.5-coder:32b-instruct-q5_K_M");
    expect(normaliseModelName("  MyModel ")).toBe("MyModel:latest");
    // Names made from a file name stay lower-case, as Ollama writes them.
    expect(defaultModelName("/m/Qwen2.5-Coder-7B.gguf")).toBe("qwen2.5-coder-7b:latest");
  });
});
