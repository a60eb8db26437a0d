import { cpSync, existsSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../task/schema.js";
import { jsonLines, runCli } from "../test-support/cli.js";
import { fakeNvidiaSmiBin } from "../test-support/fake-gpus.js";
import { synthesizeTestModel, tempDir } from "../test-support/fixtures.js";
import { QWEN_32B_Q5_K_M, writeHeaderOnlyGguf } from "../test-support/gguf-header.js";
import { startServe, type ServeProcess } from "../test-support/serve.js";

/** The seed's files, verbatim (see FIXTURE-NOTES.md there for what is quoted and what is made up). */
const SEED = fileURLToPath(new URL("../config/__fixtures__/seed", import.meta.url));
const SEED_MODEL = "qwen2.5-coder:32b-instruct-q5_K_M";

let project: string;
let home: string;
let serve: ServeProcess;

beforeAll(async () => {
  project = tempDir("builder-seed-");
  cpSync(SEED, project, { recursive: true });
  home = tempDir("builder-seed-home-");
  // `builder serve` runs a synthesized model under the seed's model name on the CPU (BUILDER_GPU=false,
  // whatever this machine has), standing in for the seed's Ollama; its context (8192) is smaller than
  // the 128000 the seed asks for.
  serve = await startServe(await synthesizeTestModel(), ["--name", SEED_MODEL, "--num-ctx", "8192"], {
    HOME: home,
    BUILDER_GPU: "false",
  });
}, 120_000);

afterAll(async () => {
  await serve?.stop();
});

/** The seed drives Builder through OLLAMA_HOST, as it drove Ollama. */
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: home,
  XDG_CACHE_HOME: home,
  OLLAMA_HOST: serve.url,
  ...extra,
});

describe("the seed's own setup, migrated with builder init", () => {
  it("builder init writes builder.config.json from config.json, .ollamarc, the knowledge base and the Modelfile, saying what it mapped and dropped", async () => {
    const result = await runCli(["init"], { cwd: project, env: env() });
    expect(result.code, result.stderr).toBe(0);
    const config = JSON.parse(readFileSync(path.join(project, "builder.config.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(config).toEqual({
      backend: "ollama",
      model: SEED_MODEL,
      ollama: { host: "http://localhost:11434" },
      gpu_index: 1,
      knowledge: ["agents/ollama-knowledge/clientforge-context.txt"],
      options: { num_ctx: 128_000, num_batch: 512, num_thread: 16, gpu_layers: 40, temperature: 0.2 },
      migrated_from: [".ollamarc", "config.json", "Modelfile"],
    });
    expect(result.stdout).toContain('builder.mode "ollama_local" → backend "ollama"');
    expect(result.stdout).toContain(".ollamarc: gpu / num_gpu → gpu_index 1");
    expect(result.stdout).toMatch(/Dropped:[\s\S]*planner: another agent's role/);
    expect(result.stdout).toContain("f16_kv has no effect");
    // A second init keeps the file it wrote.
    const again = await runCli(["init"], { cwd: project, env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; nothing was written/);
  });

  it("the seed's smoke test exits 0: crm_pack is a label when no packs are configured", async () => {
    const smoke = readFileSync(path.join(project, "tasks/smoke-test.json"), "utf8");
    const result = await runCli(["run"], { cwd: project, stdin: smoke, env: env() });
    expect(result.code, result.stderr).toBe(0);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(result.stdout));
    expect(suggestion.verification.produced_by).toEqual({ backend: "ollama", model: SEED_MODEL });
    const lines = jsonLines(result.stderr);
    expect(lines.some((line) => line.level === "warn" && /crm_pack" is used as a label/.test(String(line.msg)))).toBe(
      true,
    );
    expect(
      lines.some((line) => /num_gpu=1 beside gpu_layers=40 .*is read as GPU number 1/.test(String(line.msg))),
    ).toBe(true);
  });

  it("run --report against builder serve reports what was measured: the server's context, not the 128000 requested, no GPU, and Builder's own RSS labelled as such", async () => {
    const result = await runCli(["run", "tasks/create-contact.json", "--report", "--no-verify"], {
      cwd: project,
      env: env(),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain("Builder verification report");
    expect(result.stderr).toMatch(/backend\s+ollama/);
    expect(result.stderr).toMatch(new RegExp(`model\\s+${SEED_MODEL.replace(/\./g, "\\.")}`));
    expect(result.stderr).toMatch(/speed\s+[\d.]+ tokens\/s/);
    expect(result.stderr).toMatch(/first token\s+[\d.]+ ms/);
    expect(result.stderr).toMatch(/latency\s+[\d.]+ ms total/);
    expect(result.stderr).toMatch(/Builder RSS\s+[\d.]+ MiB \(this process, not the model server\)/);
    expect(result.stderr).toMatch(/context\s+8192 tokens \(server's; 128000 requested\)/);
    expect(result.stderr).toMatch(/GPU\s+none \(CPU\)/);
    expect(result.stderr).toMatch(/layers on GPU\s+none \(CPU\)/);
    expect(result.stderr).toMatch(/VRAM used\s+none \(CPU\)/);
    // The smaller window is said when it is learnt, not only in the report.
    expect(
      jsonLines(result.stderr).some((line) =>
        /with a 8192-token context, not the 128000 requested/.test(String(line.msg)),
      ),
    ).toBe(true);
  });

  it("doctor with two cards and CUDA_VISIBLE_DEVICES=1 judges the 4090 alone and FAILs at 128K, naming the largest num_ctx", async () => {
    // The seed's 32B Q5_K_M as a header-only GGUF (its real shape and size, as a sparse file): doctor reads only the header.
    const model = writeHeaderOnlyGguf(QWEN_32B_Q5_K_M);
    const bin = fakeNvidiaSmiBin();
    const result = await runCli(["doctor", "--json", "--backend", "embedded", "--model", model], {
      cwd: project,
      env: env({ CUDA_VISIBLE_DEVICES: "1", PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` }),
    });
    expect(result.code).toBe(1);
    const report = JSON.parse(result.stdout) as {
      checks: Array<{ id: string; status: string; message: string; details?: { max_num_ctx?: number } }>;
    };
    const memory = report.checks.find((c) => c.id === "memory-fit");
    expect(memory?.status).toBe("fail");
    expect(memory?.message).toContain("GPU 1: NVIDIA GeForce RTX 4090");
    expect(memory?.message).not.toContain("5090");
    expect(memory?.message).toContain(`The largest num_ctx that fits is ${memory?.details?.max_num_ctx ?? "?"}`);
  });

  it("doctor with both cards visible and no gpu_index judges them split by layers, as llama.cpp runs the model, naming both", async () => {
    const model = writeHeaderOnlyGguf(QWEN_32B_Q5_K_M);
    const bin = fakeNvidiaSmiBin();
    const result = await runCli(["doctor", "--json", "--backend", "embedded", "--model", model, "--num-ctx", "32768"], {
      cwd: tempDir("builder-seed-two-cards-"),
      env: env({ PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}` }),
    });
    const report = JSON.parse(result.stdout) as {
      checks: Array<{ id: string; message: string; details?: { overhead_bytes?: number; gpus?: string[] } }>;
    };
    const memory = report.checks.find((c) => c.id === "memory-fit");
    expect(memory?.message).toContain("2 cards, layers split over them");
    expect(memory?.message).toContain("(1.0 GiB on each of 2 cards)");
    expect(memory?.details?.gpus).toEqual(["GPU 0: NVIDIA GeForce RTX 5090", "GPU 1: NVIDIA GeForce RTX 4090"]);
    expect(memory?.details?.overhead_bytes).toBe(2 * 1024 ** 3);
    expect(report.checks.find((c) => c.id === "gpu")?.message).toContain(
      "Used: GPU 0 NVIDIA GeForce RTX 5090, GPU 1 NVIDIA GeForce RTX 4090 (layers split over them).",
    );
  });

  it("builder modelfile --out keeps the hand-written Modelfile as a backup and writes gpu_layers 40 as num_gpu 40, never num_gpu 1", async () => {
    const original = readFileSync(path.join(project, "Modelfile"), "utf8");
    const result = await runCli(["modelfile", "--out", "Modelfile"], { cwd: project, env: env() });
    expect(result.code, result.stderr).toBe(0);
    const backups = readdirSync(project).filter((name) => name.startsWith("Modelfile.bak-"));
    expect(backups).toHaveLength(1);
    expect(readFileSync(path.join(project, backups[0]), "utf8")).toBe(original);
    const written = readFileSync(path.join(project, "Modelfile"), "utf8");
    expect(written).toContain("PARAMETER num_gpu 40");
    expect(written).not.toMatch(/PARAMETER num_gpu 1\b/);
    expect(existsSync(path.join(project, "builder.config.json"))).toBe(true);
  });
});
