import { describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { BACKEND_NAMES } from "../config/schema.js";
import { tempDir } from "../test-support/fixtures.js";
import { describeBackend, findBackendDescriptor } from "./descriptors.js";

describe("the backend descriptors", () => {
  it("describe every backend name the configuration accepts, under that name", () => {
    for (const name of BACKEND_NAMES) {
      expect(describeBackend(name).name).toBe(name);
      expect(findBackendDescriptor(name)).toBe(describeBackend(name));
    }
    // A name read back from an old or foreign metrics line is no backend Builder knows.
    expect(findBackendDescriptor("llamafile")).toBeUndefined();
  });

  it("name the configured server's URL for a server backend, and none for Builder's own engine", () => {
    const cwd = tempDir();
    const env = { OLLAMA_HOST: "http://10.0.0.5:11434", OPENAI_BASE_URL: "http://10.0.0.6:8080/v1" };
    const url = (backend: "embedded" | "ollama" | "openai"): string | undefined =>
      describeBackend(backend).serverUrl(loadConfig({ cwd, env, overrides: { backend } }));
    expect(url("embedded")).toBeUndefined();
    expect(url("ollama")).toBe("http://10.0.0.5:11434");
    expect(url("openai")).toBe("http://10.0.0.6:8080/v1");
  });

  it("declare only what each backend does", () => {
    const embedded = describeBackend("embedded").capabilities;
    const ollama = describeBackend("ollama").capabilities;
    const openai = describeBackend("openai").capabilities;
    // The engine in Builder applies grammars, counts with the tokenizer, keeps prefixes and speculates.
    expect(embedded).toMatchObject({ grammar: "engine", exactTokenCounts: true, prefixCache: true, speculation: true });
    expect(embedded.ownEngine && embedded.gpuSelection).toBe(true);
    // A server picks its own GPUs and estimates tokens; Ollama takes no grammar, llama.cpp's server takes it as a field.
    for (const server of [ollama, openai])
      expect(server).toMatchObject({
        ownEngine: false,
        gpuSelection: false,
        exactTokenCounts: false,
        prefixCache: false,
      });
    expect(ollama.grammar).toBe("none");
    expect(openai.grammar).toBe("request-field");
    // The OpenAI API has no num_ctx: the server's window is the one in effect.
    expect(openai.setsContextWindow).toBe(false);
  });
});
