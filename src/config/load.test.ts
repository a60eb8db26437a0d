import { existsSync, mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors/errors.js";
import { findConfigFile, loadConfig } from "./load.js";

function project(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(tmpdir(), "builder-config-"));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    writeFileSync(path.join(root, name), content);
  }
  return root;
}

const noEnv = { HOME: "/nonexistent-home" } as NodeJS.ProcessEnv;

describe("loadConfig", () => {
  it("finds builder.config.json by walking up and resolves paths against its folder", () => {
    const root = project({
      "builder.config.json": JSON.stringify({
        model: "models/m.gguf",
        knowledge: ["kb.md"],
        packs: { p: ["p.md"] },
        options: { num_ctx: 4096 },
      }),
      "deep/er/file.txt": "",
    });
    expect(findConfigFile(path.join(root, "deep/er"))).toBe(path.join(root, "builder.config.json"));
    const config = loadConfig({ cwd: path.join(root, "deep/er"), env: noEnv });
    expect(config.model).toBe(path.join(root, "models/m.gguf"));
    expect(config.knowledge).toEqual([path.join(root, "kb.md")]);
    expect(config.packs.p).toEqual([path.join(root, "p.md")]);
    expect(config.workspace).toBe(root);
    expect(config.options.num_ctx).toBe(4096);
    expect(config.backend).toBe("embedded");
  });

  it("names the field and the problem for an invalid config", () => {
    const root = project({ "builder.config.json": JSON.stringify({ options: { num_ctx: "big" }, backend: "cloud" }) });
    expect(() => loadConfig({ cwd: root, env: noEnv })).toThrow(ConfigError);
    expect(() => loadConfig({ cwd: root, env: noEnv })).toThrow(/options\.num_ctx.*backend|backend.*options\.num_ctx/s);
  });

  it("rejects unknown keys so typos do not pass silently", () => {
    const root = project({ "builder.config.json": JSON.stringify({ optons: {} }) });
    expect(() => loadConfig({ cwd: root, env: noEnv })).toThrow(/optons/);
  });

  it("lets the environment override the file and flags override both", () => {
    const root = project({
      "builder.config.json": JSON.stringify({ model: "a.gguf", options: { num_ctx: 1024, num_predict: 100 } }),
    });
    const env = { ...noEnv, BUILDER_MODEL: "/m/b.gguf", BUILDER_NUM_CTX: "2048" };
    const fromEnv = loadConfig({ cwd: root, env });
    expect(fromEnv.model).toBe("/m/b.gguf");
    expect(fromEnv.options).toMatchObject({ num_ctx: 2048, num_predict: 100 });
    const fromFlags = loadConfig({ cwd: root, env, overrides: { model: "/m/c.gguf", options: { num_ctx: 8192 } } });
    expect(fromFlags.model).toBe("/m/c.gguf");
    expect(fromFlags.options.num_ctx).toBe(8192);
  });

  it('reads num_ctx and num_predict "auto" (the default) as unset, and an environment or flag "auto" overrides a file\'s number', () => {
    const root = project({
      "builder.config.json": JSON.stringify({ options: { num_ctx: 12288, num_predict: "auto" } }),
    });
    const fromFile = loadConfig({ cwd: root, env: noEnv });
    expect(fromFile.options.num_ctx).toBe(12288);
    expect("num_predict" in fromFile.options).toBe(false);
    const fromEnv = loadConfig({ cwd: root, env: { ...noEnv, BUILDER_NUM_CTX: "auto" } });
    expect("num_ctx" in fromEnv.options).toBe(false);
    const fromFlag = loadConfig({ cwd: root, env: noEnv, overrides: { options: { num_ctx: "auto" } } });
    expect("num_ctx" in fromFlag.options).toBe(false);
    expect(() =>
      loadConfig({
        cwd: project({ "builder.config.json": JSON.stringify({ options: { num_ctx: "big" } }) }),
        env: noEnv,
      }),
    ).toThrow(/num_ctx/);
  });

  it("reports a bad environment override by its variable name", () => {
    const root = project({});
    expect(() => loadConfig({ cwd: root, env: { ...noEnv, BUILDER_NUM_CTX: "lots" } })).toThrow(/BUILDER_NUM_CTX/);
    expect(() => loadConfig({ cwd: root, env: { ...noEnv, BUILDER_BACKEND: "cloud" } })).toThrow(/BUILDER_BACKEND/);
  });

  it("reads legacy .ollamarc keys below builder.config.json and warns about the ones it cannot honour", () => {
    const root = project({
      ".ollamarc": "num_ctx=16384\nnum_thread: 4\nnum_gpu=1\nf16_kv=true\nuse_mmap=false\n",
      "builder.config.json": JSON.stringify({ options: { num_ctx: 8192 } }),
    });
    const config = loadConfig({ cwd: root, env: noEnv });
    expect(config.options).toMatchObject({ num_ctx: 8192, num_thread: 4, gpu_layers: 1, use_mmap: false });
    expect(config.warnings.join("\n")).toMatch(/num_gpu=1 is read as 1 layer/);
    expect(config.warnings.join("\n")).toMatch(/f16_kv has no effect/);
  });
});

describe("loadConfig refuses bad values from every source", () => {
  it("validates .ollamarc keys with the config's rules: num_ctx -5 is CONFIG_INVALID naming the file and the key", () => {
    const root = project({ ".ollamarc": JSON.stringify({ num_ctx: -5 }) });
    let caught: unknown;
    try {
      loadConfig({ cwd: root, env: noEnv });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe("CONFIG_INVALID");
    expect((caught as ConfigError).message).toContain(path.join(root, ".ollamarc"));
    expect((caught as ConfigError).message).toContain('"num_ctx"');
    expect(() => loadConfig({ cwd: project({ ".ollamarc": "num_thread=lots\n" }), env: noEnv })).toThrow(
      /"num_thread"/,
    );
  });

  it("reports an OLLAMA_HOST that is no server address as CONFIG_INVALID, not as a server error", () => {
    const root = project({});
    expect(() => loadConfig({ cwd: root, env: { ...noEnv, OLLAMA_HOST: "gpu box:11434" } })).toThrow(ConfigError);
    expect(() => loadConfig({ cwd: root, env: { ...noEnv, OLLAMA_HOST: "gpu box:11434" } })).toThrow(
      /OLLAMA_HOST="gpu box:11434" is not a server address/,
    );
    expect(loadConfig({ cwd: root, env: { ...noEnv, OLLAMA_HOST: "0.0.0.0" } }).ollama.host).toBe(
      "http://127.0.0.1:11434",
    );
  });

  it("refuses a workspace folder that does not exist, and creates nothing", () => {
    const root = project({});
    const typo = path.join(root, "no-such-folder");
    expect(() => loadConfig({ cwd: root, env: noEnv, overrides: { workspace: "no-such-folder" } })).toThrow(
      /--workspace: .*no-such-folder is not an existing folder/,
    );
    expect(existsSync(typo)).toBe(false);
  });
});

describe("GPU keys: one rule in builder.config.json and .ollamarc", () => {
  const seedRc = JSON.stringify({ gpu_layers: 40, num_ctx: 16384, num_gpu: 1, gpu: 1 });

  it("keeps gpu_layers 40 and reads .ollamarc num_gpu 1 beside it as GPU number 1, in one warning line", () => {
    const config = loadConfig({ cwd: project({ ".ollamarc": seedRc }), env: noEnv });
    expect(config.options.gpu_layers).toBe(40);
    expect(config.gpuIndex).toBe(1);
    const lines = config.warnings.filter((w) => /num_gpu/.test(w));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/num_gpu=1 beside gpu_layers=40 .* is read as GPU number 1/);
  });

  it("applies the same rule to builder.config.json options, and gpu_index names the GPU there", () => {
    const config = loadConfig({
      cwd: project({ "builder.config.json": JSON.stringify({ options: { gpu_layers: 40, num_gpu: 1 } }) }),
      env: noEnv,
    });
    expect(config.options.gpu_layers).toBe(40);
    expect(config.gpuIndex).toBe(1);
    const explicit = loadConfig({
      cwd: project({ "builder.config.json": JSON.stringify({ gpu_index: 0 }) }),
      env: noEnv,
    });
    expect(explicit.gpuIndex).toBe(0);
    // Alone, num_gpu keeps Ollama's meaning (layers), with the warning that says so.
    const alone = loadConfig({
      cwd: project({ "builder.config.json": JSON.stringify({ options: { num_gpu: 1 } }) }),
      env: noEnv,
    });
    expect(alone.options.gpu_layers).toBe(1);
    expect(alone.gpuIndex).toBeUndefined();
  });
});

describe("OLLAMA_MODEL with the default backend", () => {
  it("says it applies to the ollama backend instead of leaving the embedded backend without a word", () => {
    const root = project({});
    const config = loadConfig({ cwd: root, env: { ...noEnv, OLLAMA_MODEL: "qwen2.5-coder:7b" } });
    expect(config.model).toBeUndefined();
    expect(config.warnings.join("\n")).toMatch(
      /OLLAMA_MODEL=qwen2.5-coder:7b applies to the ollama backend.*--backend ollama/,
    );
    expect(
      loadConfig({ cwd: root, env: { ...noEnv, OLLAMA_MODEL: "qwen2.5-coder:7b" }, overrides: { backend: "ollama" } })
        .model,
    ).toBe("qwen2.5-coder:7b");
  });
});

describe("the seed's setup, read as it is", () => {
  it("reads an agent-system config.json's builder role (mode ollama_local → ollama, gpu → gpu_index) and names the roles it ignores", () => {
    const root = project({
      "config.json": JSON.stringify({
        planner: { mode: "claude" },
        builder: {
          mode: "ollama_local",
          ollama_local: {
            model: "qwen2.5-coder:32b-instruct-q5_K_M",
            url: "http://localhost:11434",
            num_ctx: 128000,
            temperature: 0.2,
          },
          gpu: 1,
        },
        reviewer: { mode: "claude" },
      }),
    });
    const config = loadConfig({ cwd: root, configPath: "config.json", env: noEnv });
    expect(config).toMatchObject({
      backend: "ollama",
      model: "qwen2.5-coder:32b-instruct-q5_K_M",
      gpuIndex: 1,
      options: { num_ctx: 128000, temperature: 0.2 },
    });
    expect(config.ollama.host).toBe("http://localhost:11434");
    expect(config.notes).toHaveLength(1);
    expect(config.notes?.[0]).toMatch(/agent-system config.*ignored planner.*reviewer/);
  });

  it("uses the knowledge base at the seed's path (and .builder/knowledge/) when the config names none", () => {
    const root = project({
      "builder.config.json": "{}",
      "agents/ollama-knowledge/clientforge-context.txt": "ctx\n",
      "agents/ollama-knowledge/notes.bin": "x",
      ".builder/knowledge/rules.md": "# rules\n",
    });
    expect(loadConfig({ cwd: root, env: noEnv }).knowledge).toEqual([
      path.join(root, "agents/ollama-knowledge/clientforge-context.txt"),
      path.join(root, ".builder/knowledge/rules.md"),
    ]);
    const configured = project({
      "builder.config.json": JSON.stringify({ knowledge: ["kb.md"] }),
      "kb.md": "",
      "agents/ollama-knowledge/x.txt": "",
    });
    expect(loadConfig({ cwd: configured, env: noEnv }).knowledge).toEqual([path.join(configured, "kb.md")]);
  });
});
