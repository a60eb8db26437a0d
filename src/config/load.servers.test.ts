import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SERVER_TIMEOUTS, loadConfig } from "./load.js";

function project(config: unknown): string {
  const root = mkdtempSync(path.join(tmpdir(), "builder-config-"));
  writeFileSync(path.join(root, "builder.config.json"), JSON.stringify(config));
  return root;
}

const noEnv = { HOME: "/nonexistent-home" } as NodeJS.ProcessEnv;

describe("loadConfig for model servers", () => {
  it("keeps a single host working and reads a list of hosts as a pool, with timeouts", () => {
    const single = loadConfig({
      cwd: project({ backend: "ollama", ollama: { host: "http://gpu1:11434" } }),
      env: noEnv,
    });
    expect(single.ollama).toMatchObject({
      host: "http://gpu1:11434",
      hosts: ["http://gpu1:11434"],
      timeouts: DEFAULT_SERVER_TIMEOUTS,
    });
    const pool = loadConfig({
      cwd: project({
        backend: "ollama",
        ollama: { hosts: ["http://a:11434", "http://b:11434"], load_timeout_ms: 900_000 },
      }),
      env: noEnv,
    });
    expect(pool.ollama.hosts).toEqual(["http://a:11434", "http://b:11434"]);
    expect(pool.ollama.host).toBe("http://a:11434");
    expect(pool.ollama.timeouts.loadMs).toBe(900_000);
    const openai = loadConfig({
      cwd: project({ backend: "openai", openai: { base_urls: ["http://a:8080/v1", "http://b:8080/v1"] } }),
      env: noEnv,
    });
    expect(openai.openai.baseUrls).toEqual(["http://a:8080/v1", "http://b:8080/v1"]);
    expect(() =>
      loadConfig({ cwd: project({ ollama: { host: "http://a:1", hosts: ["http://b:1"] } }), env: noEnv }),
    ).toThrow(/ollama.host or ollama.hosts/);
  });

  it("lets --host (one URL or several, comma-separated) override the active backend's servers, after OLLAMA_HOST", () => {
    const root = project({ backend: "ollama", ollama: { hosts: ["http://a:11434"] } });
    expect(loadConfig({ cwd: root, env: { ...noEnv, OLLAMA_HOST: "0.0.0.0:11434" } }).ollama.hosts).toEqual([
      "http://127.0.0.1:11434",
    ]);
    const flags = loadConfig({
      cwd: root,
      env: { ...noEnv, OLLAMA_HOST: "x:1" },
      overrides: { serverUrls: "http://c:1, d:2" },
    });
    expect(flags.ollama.hosts).toEqual(["http://c:1", "http://d:2"]);
    const openai = loadConfig({
      cwd: root,
      env: noEnv,
      overrides: { backend: "openai", serverUrls: "http://e:8080/v1" },
    });
    expect(openai.openai.baseUrls).toEqual(["http://e:8080/v1"]);
    expect(openai.ollama.hosts, "--host applies to the backend in use").toEqual(["http://a:11434"]);
    expect(() => loadConfig({ cwd: root, env: noEnv, overrides: { serverUrls: "http://bad host" } })).toThrow(
      /--host .* is not a URL/,
    );
  });

  it("keeps server model names as names, not paths", () => {
    const root = project({ backend: "ollama", model: "hf.co/Qwen/Qwen2.5-Coder-7B-Instruct-GGUF:Q4_K_M" });
    expect(loadConfig({ cwd: root, env: noEnv }).model).toBe("hf.co/Qwen/Qwen2.5-Coder-7B-Instruct-GGUF:Q4_K_M");
    expect(
      loadConfig({ cwd: root, env: noEnv, overrides: { backend: "openai", model: "Qwen/Qwen2.5-Coder-7B" } }).model,
    ).toBe("Qwen/Qwen2.5-Coder-7B");
    expect(
      loadConfig({ cwd: root, env: noEnv, overrides: { backend: "embedded", model: "models/m.gguf" } }).model,
    ).toBe(path.join(root, "models/m.gguf"));
  });

  it("reads Ollama's num_gpu as gpu_layers and warns when it looks like a GPU number", () => {
    const gpuIndex = loadConfig({ cwd: project({ options: { num_gpu: 1 } }), env: noEnv });
    expect(gpuIndex.options.gpu_layers).toBe(1);
    expect(gpuIndex.warnings.join("\n")).toMatch(
      /num_gpu=1 is read as 1 layer\(s\) offloaded to the GPU, not as GPU number 1.*CUDA_VISIBLE_DEVICES/,
    );
    const layers = loadConfig({ cwd: project({ options: { num_gpu: 33 } }), env: noEnv });
    expect(layers.options.gpu_layers).toBe(33);
    expect(layers.warnings).toEqual([]);
  });

  it("reads OLLAMA_HOST as Ollama does: no scheme is http, no port is 11434, the bind-all address is this machine", () => {
    const root = project({ backend: "ollama" });
    const host = (value: string): string =>
      loadConfig({ cwd: root, env: { ...noEnv, OLLAMA_HOST: value } }).ollama.host;
    expect(host("0.0.0.0")).toBe("http://127.0.0.1:11434");
    expect(host("gpu-box")).toBe("http://gpu-box:11434");
    expect(host("gpu-box:8000")).toBe("http://gpu-box:8000");
    expect(host("https://ollama.example.com")).toBe("https://ollama.example.com");
    expect(host("http://proxy:80/ollama/")).toBe("http://proxy/ollama");
  });
});
