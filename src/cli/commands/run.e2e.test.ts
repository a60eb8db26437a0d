import { createServer, type Server } from "node:http";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../../task/schema.js";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { SAMPLE_TASK, sampleWorkspace, synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";

let modelPath: string;
let workspace: string;
let cacheHome: string;

beforeAll(async () => {
  modelPath = await synthesizeTestModel();
  workspace = sampleWorkspace(modelPath);
  cacheHome = tempDir("builder-cache-");
});

const env = (): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: cacheHome, HOME: cacheHome });

function metricsLines(ws: string): Array<Record<string, unknown>> {
  const file = path.join(ws, ".builder", "metrics.jsonl");
  return existsSync(file) ? jsonLines(readFileSync(file, "utf8")) : [];
}

function expectSuggestion(stdout: string): void {
  const suggestion = CodeSuggestionSchema.parse(JSON.parse(stdout));
  expect(suggestion.file_path).toBe("src/contact-service.ts");
  expect(suggestion.verification.verdict).toBe("UNVERIFIED");
  expect(suggestion.verification.summary).toMatch(/Not verified/);
}

describe("builder run on the embedded engine", () => {
  it("takes a task on stdin and prints only a schema-valid suggestion on stdout", async () => {
    const before = metricsLines(workspace).length;
    const result = await runCli(["run"], { cwd: workspace, stdin: JSON.stringify(SAMPLE_TASK), env: env() });
    expect(result.stderr).not.toMatch(/"level":"error"/);
    expect(result.code).toBe(0);
    expectSuggestion(result.stdout);
    const logged = jsonLines(result.stderr).find((line) => line.msg === "run metrics");
    expect(logged).toMatchObject({ task_id: "crm-001", backend: "embedded", success: true, error: null });
    for (const field of [
      "load_ms",
      "prompt_tokens",
      "time_to_first_token_ms",
      "generated_tokens",
      "tokens_per_sec",
      "total_ms",
    ]) {
      expect(typeof logged?.[field], field).toBe("number");
    }
    const recorded = metricsLines(workspace);
    expect(recorded.length).toBe(before + 1);
    expect(recorded.at(-1)).toMatchObject({ task_id: "crm-001", success: true });
  });

  it("takes a task file; gpu_index 1 is said truthfully: the GPU it runs on, or that there is no GPU 1 and it runs on the CPU", async () => {
    const result = await runCli(["run", "tasks/create-contact.json", "--report"], {
      cwd: workspace,
      env: { ...env(), BUILDER_GPU_INDEX: "1" },
    });
    expect(result.code).toBe(0);
    expectSuggestion(result.stdout);
    expect(result.stderr).toContain("Builder verification report");
    expect(result.stderr).toMatch(/speed\s+[\d.]+ tokens\/s/);
    // In-process (the suite's BUILDER_KEEP_ALIVE=0): this process holds the model.
    expect(result.stderr).toMatch(/Builder RSS\s+[\d.]+ MiB \(this process, model included\)/);
    const gpu = jsonLines(result.stderr)
      .filter((line) => "gpu_index" in line)
      .map((line) => String(line.msg));
    expect(gpu).toHaveLength(1);
    // The GPU's name when llama.cpp has one, never only the variable Builder set (that said "GPU 1" on machines with none).
    expect(gpu[0]).toMatch(
      /^(embedded engine on GPU 1 \((?!CUDA_VISIBLE_DEVICES).+\)|gpu_index 1 is set, but llama\.cpp sees no GPU 1 .*the model runs on the CPU)/,
    );
  });

  it("takes a task from flags", async () => {
    const result = await runCli(
      ["run", "-m", "Add createContact", "-f", "src/contact-service.ts", "--accept", "has tests", "--loc-max", "50"],
      {
        cwd: workspace,
        env: env(),
      },
    );
    expect(result.code).toBe(0);
    expectSuggestion(result.stdout);
  });

  it("rejects a bad task with exit code 2, naming the field, and does nothing else", async () => {
    const before = metricsLines(workspace).length;
    const bad = { ...SAMPLE_TASK, constraints: { loc_max: "many", pack: "crm" } };
    const result = await runCli(["run"], { cwd: workspace, stdin: JSON.stringify(bad), env: env() });
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    const error = jsonLines(result.stderr).find((line) => "error" in line)?.error as { code: string; message: string };
    expect(error.code).toBe("TASK_INVALID");
    expect(error.message).toContain("constraints.loc_max");
    expect(metricsLines(workspace).length).toBe(before);
  });

  it("reports an unknown context pack as a task error, and records no run", async () => {
    const before = metricsLines(workspace).length;
    const result = await runCli(["run"], {
      cwd: workspace,
      stdin: JSON.stringify({ ...SAMPLE_TASK, constraints: { loc_max: 10, pack: "nope" } }),
      env: env(),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/no context pack named \\"nope\\"/);
    expect(metricsLines(workspace).length).toBe(before);
  });

  it("fails clearly at the token limit when answer bounds are off, with no suggestion on stdout", async () => {
    const result = await runCli(["run", "--no-bounded-answer", "--num-predict", "64"], {
      cwd: workspace,
      stdin: JSON.stringify(SAMPLE_TASK),
      env: env(),
    });
    expect(result.code).toBe(4);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/GENERATION_TRUNCATED/);
    expect(result.stderr).toMatch(/num_predict=64/);
    expect(result.stderr).toContain("needs --bounded-answer");
    expect(metricsLines(workspace).at(-1)).toMatchObject({ success: false, error: "GENERATION_TRUNCATED" });
  });

  it("refuses a prompt that does not fit the context window instead of truncating it", async () => {
    const result = await runCli(["run", "--num-ctx", "512", "--num-predict", "400"], {
      cwd: workspace,
      stdin: JSON.stringify(SAMPLE_TASK),
      env: env(),
    });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/CONTEXT_OVERFLOW/);
    expect(result.stderr).toMatch(/Raise options.num_ctx to at least \d+/);
  });

  it("says what to do when the model file is missing or none is configured", async () => {
    const missing = await runCli(["run", "--model", "/nonexistent/model.gguf"], {
      cwd: workspace,
      stdin: JSON.stringify(SAMPLE_TASK),
      env: env(),
    });
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/MODEL_NOT_FOUND/);
    const bare = tempDir("builder-bare-");
    const none = await runCli(["run", "-m", "x"], { cwd: bare, env: env() });
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/No model is configured.*builder demo/);
  });
});

describe("model download", () => {
  let server: Server;
  let baseUrl: string;
  const requests: string[] = [];

  beforeAll(async () => {
    const bytes = readFileSync(modelPath);
    server = createServer((req, res) => {
      requests.push(`${req.method ?? ""} ${req.url ?? ""}`);
      if (!new URL(req.url ?? "/", "http://x").pathname.endsWith(".gguf")) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": bytes.length });
      if (req.url?.startsWith("/broken/") && req.method !== "HEAD") {
        // Half the file, then the connection drops: every retry breaks off the same way.
        res.write(bytes.subarray(0, bytes.length >> 1), () => res.destroy());
        return;
      }
      res.end(req.method === "HEAD" ? undefined : bytes);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("downloads a model URL once into the cache and reuses it", async () => {
    const cache = tempDir("builder-models-");
    const ws = sampleWorkspace(`${baseUrl}/files/tiny-download.gguf`, {});
    const config = JSON.parse(readFileSync(path.join(ws, "builder.config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(path.join(ws, "builder.config.json"), JSON.stringify({ ...config, model_cache_dir: cache }));
    const first = await runCli(["run", "tasks/create-contact.json"], { cwd: ws, env: env() });
    expect(first.stderr).not.toMatch(/"error":\{/);
    expect(first.code).toBe(0);
    expect(readdirSync(cache).some((name) => name.endsWith(".gguf"))).toBe(true);
    const before = requests.length;
    const second = await runCli(["run", "tasks/create-contact.json"], { cwd: ws, env: env() });
    expect(second.code).toBe(0);
    expect(requests.length, "a cached model needs no network").toBe(before);
  });

  it("resolves hf: URIs against HF_ENDPOINT", async () => {
    const cache = tempDir("builder-models-");
    const ws = sampleWorkspace("hf:builder/tiny-GGUF/tiny-hf.gguf");
    const config = JSON.parse(readFileSync(path.join(ws, "builder.config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(path.join(ws, "builder.config.json"), JSON.stringify({ ...config, model_cache_dir: cache }));
    const result = await runCli(["run", "tasks/create-contact.json"], {
      cwd: ws,
      env: { ...env(), HF_ENDPOINT: baseUrl },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(requests.some((r) => r.includes("builder/tiny-GGUF") && r.includes("tiny-hf.gguf"))).toBe(true);
  });

  it("gives up on a download that keeps breaking off, with a clear error and no partial file in the cache", async () => {
    const cache = tempDir("builder-models-");
    const result = await runCli(["run", "--model", `${baseUrl}/broken/tiny-broken.gguf`, "-m", "x"], {
      cwd: tempDir(),
      env: { ...env(), BUILDER_MODEL_CACHE: cache },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/MODEL_DOWNLOAD_FAILED/);
    expect(result.stderr).toMatch(/broke off and restarted/);
    expect(readdirSync(cache).filter((name) => name.endsWith(".gguf"))).toEqual([]);
  });

  it("fails with a clear offline message when the download cannot happen", async () => {
    const cache = tempDir("builder-models-");
    const result = await runCli(["run", "--model", "http://127.0.0.1:9/unreachable.gguf", "-m", "x"], {
      cwd: tempDir(),
      env: { ...env(), BUILDER_MODEL_CACHE: cache },
    });
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/MODEL_DOWNLOAD_FAILED/);
    expect(result.stderr).toMatch(/copy it here/);
  });
});
