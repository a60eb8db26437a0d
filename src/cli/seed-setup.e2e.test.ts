import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../task/schema.js";
import { CLI_PATH, jsonLines, runCli, type CliResult } from "../test-support/cli.js";
import { detectCores } from "../system/cpu-cores.js";
import { spawn } from "node:child_process";
import { fakeNvidiaSmiBin } from "../test-support/fake-gpus.js";
import { synthesizeTestModel, tempDir, writeFiles } from "../test-support/fixtures.js";
import { QWEN_32B_Q5_K_M, writeHeaderOnlyGguf } from "../test-support/gguf-header.js";
import { startServe, type ServeProcess } from "../test-support/serve.js";

/** The seed's files, verbatim (see FIXTURE-NOTES.md there for what is quoted and what is made up). */
const SEED = fileURLToPath(new URL("../config/__fixtures__/seed", import.meta.url));
const SEED_MODEL = "qwen2.5-coder:32b-instruct-q5_K_M";

let project: string;
let home: string;
let serve: ServeProcess;
/** A folder with a `builder` command on it, as `npm install -g` would give the team. */
let bin: string;

/** The smoke test, as the team's package.json pipes it. */
const SMOKE =
  '{"task_id":"test","objective":"Test GPU","files":[],"acceptance":[],"constraints":{"loc_max":100,"pack":"crm_pack"}}';

/**
 * The team's repository around the seed's files: package.json scripts that call `builder` where they
 * called their adapter, and a small TypeScript backend (the file the create-contact task names).
 */
function layOutTheirRepository(root: string): void {
  cpSync(SEED, root, { recursive: true });
  writeFiles(root, {
    "package.json": JSON.stringify(
      {
        name: "clientforge-crm",
        private: true,
        type: "module",
        scripts: { "agents:build": "builder run", "agents:ollama:test": `echo '${SMOKE}' | builder run` },
      },
      null,
      2,
    ),
    "tsconfig.json": JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", noEmit: true } }),
    "src/contact-service.ts":
      "export interface Contact {\n  id: string;\n  email: string;\n}\n\nexport function contactKey(contact: Contact): string {\n  return contact.email.toLowerCase();\n}\n",
  });
  bin = tempDir("builder-seed-bin-");
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(bin, "builder"), `#!/bin/sh\nexec "${process.execPath}" "${CLI_PATH}" "$@"\n`);
  chmodSync(path.join(bin, "builder"), 0o755);
}

beforeAll(async () => {
  project = tempDir("builder-seed-");
  layOutTheirRepository(project);
  home = tempDir("builder-seed-home-");
  // `builder serve`, started in their folder, runs a synthesized model under the seed's model name on
  // the CPU (BUILDER_GPU=false, whatever this machine has), standing in for the seed's Ollama; its
  // context (8192) is smaller than the 128000 the seed asks for. One thread: the suite's machines are small.
  serve = await startServe(
    await synthesizeTestModel(),
    ["--name", SEED_MODEL, "--num-ctx", "8192"],
    { HOME: home, BUILDER_GPU: "false" },
    project,
  );
}, 120_000);

afterAll(async () => {
  await serve?.stop();
});

/** The seed drives Builder through OLLAMA_HOST, as it drove Ollama; `builder` is on PATH. */
const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: home,
  XDG_CACHE_HOME: home,
  OLLAMA_HOST: serve.url,
  PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`,
  // The random test model never stops by itself; the team's real model does.
  BUILDER_BOUNDED_ANSWER: "true",
  ...extra,
});

/** The warnings a run logged (level warn), as text. */
function warnings(stderr: string): string[] {
  return jsonLines(stderr)
    .filter((line) => line.level === "warn")
    .map((line) => String(line.msg));
}

/** Whether num_thread 16 is above this machine's cores: then every process that runs the model says so. */
const threadsAboveCores = detectCores().physical < 16;

/** Runs a command through the shell in the team's folder, as a person types it. */
function sh(command: string, extra: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("sh", ["-c", command], {
      cwd: project,
      env: { ...process.env, BUILDER_LOG_LEVEL: "info", BUILDER_KEEP_ALIVE: "0", ...env(extra) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 110_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

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
    expect(result.stdout).toContain("no longer reads this folder's .ollamarc");
    expect(result.stdout).toContain("start the server with CUDA_VISIBLE_DEVICES=1");
    // A second init keeps the file it wrote.
    const again = await runCli(["init"], { cwd: project, env: env() });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists; nothing was written/);
  });

  it("their smoke test through `npm run agents:ollama:test` on the Ollama backend: exit 0, an explanation alone (the task names no file), no .ollamarc warnings after init", async () => {
    const before = readdirSync(project);
    const result = await sh("npm run agents:ollama:test");
    expect(result.code, result.stderr).toBe(0);
    // npm prints its banner on stdout first; the suggestion is the JSON after it.
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(result.stdout.slice(result.stdout.indexOf("\n{") + 1)));
    expect(suggestion.verification.produced_by).toEqual({ backend: "ollama", model: SEED_MODEL });
    expect(suggestion).toMatchObject({ file_path: "", changes: [], verification: { verdict: "UNVERIFIED" } });
    expect(suggestion.verification.summary).toContain("the answer is an explanation and changes no file");
    // Nothing was written: no file with a random name at the root (or anywhere).
    expect(readdirSync(project).filter((name) => !before.includes(name) && name !== ".builder")).toEqual([]);
    // The one expected warning is the pack label. The others here depend on this machine and this
    // stand-in server: num_thread 16 above a small machine's cores, and the stand-in's 8192-token
    // window against the 128000 asked for. Nothing from .ollamarc: init moved it.
    const seen = warnings(result.stderr);
    expect(seen.filter((w) => /crm_pack" is used as a label/.test(w))).toHaveLength(1);
    const expected = [/crm_pack" is used as a label/, /with a 8192-token context, not the 128000 requested/];
    if (threadsAboveCores) expected.push(/^num_thread: 16 is more than this machine's/);
    expect(seen.filter((w) => !expected.some((pattern) => pattern.test(w)))).toEqual([]);
    expect(result.stderr).not.toContain(".ollamarc");
    // Serve logged the request as Ollama does: one line with the method, path, status, model, tokens, time.
    expect(serve.stderr()).toMatch(
      new RegExp(`"msg":"POST /api/chat 200 ${SEED_MODEL.replace(/\./g, "\\.")} \\d+\\+\\d+ tokens \\d+ ms"`),
    );
  });

  it("a real task on their backend file with --report: FAILED (the random model's edits) says which check failed and its first diagnostic, how fast, and what the server's window was", async () => {
    const result = await sh("builder run tasks/create-contact.json --report --max-repairs 0");
    expect(result.code, result.stderr).toBe(8);
    const report = result.stderr.slice(result.stderr.indexOf("── Builder verification report ──"));
    expect(report).toMatch(/result\s+suggestion produced, verdict FAILED/);
    expect(report).toMatch(/\n\s+failed\s+\w+: \S.*/);
    expect(report).toMatch(/backend\s+ollama/);
    expect(report).toMatch(new RegExp(`model\\s+${SEED_MODEL.replace(/\./g, "\\.")}`));
    expect(report).toMatch(/speed\s+[\d.]+ tokens\/s/);
    expect(report).toMatch(/first token\s+[\d.]+ ms/);
    expect(report).toMatch(/latency\s+[\d.]+ ms total/);
    expect(report).toMatch(/Builder RSS\s+[\d.]+ MiB \(this process, not the model server\)/);
    expect(report).toMatch(/context\s+8192 tokens \(server's; 128000 requested\)/);
    expect(report).toMatch(/GPU\s+none \(CPU\)/);
    expect(report).toMatch(/layers on GPU\s+none \(CPU\)/);
    expect(report).toMatch(/VRAM used\s+none \(CPU\)/);
    // Their file is untouched: a FAILED suggestion is never written.
    expect(readFileSync(path.join(project, "src/contact-service.ts"), "utf8")).toContain("contactKey");
    // The smaller window is said when it is learnt, not only in the report.
    expect(warnings(result.stderr).some((w) => /with a 8192-token context, not the 128000 requested/.test(w))).toBe(
      true,
    );
  });

  it("eval on two builtin cases from their folder runs both cases with their knowledge (no WORKSPACE_ESCAPE), exit 0", async () => {
    const out = path.join(tempDir("builder-seed-eval-"), "two.jsonl");
    const result = await sh(`builder eval --suite builtin --limit 2 --no-verify --out ${out}`);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^builtin: [0-2]\/2 passed/);
    const rows = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row.error, JSON.stringify(row)).not.toMatchObject({ code: "WORKSPACE_ESCAPE" });
      expect(row.prompt_tokens as number).toBeGreaterThan(0);
    }
  });

  it("eval with a knowledge file that cannot be read is a setup error before any case: non-zero exit, no rows", async () => {
    const broken = tempDir("builder-seed-broken-");
    writeFiles(broken, {
      "builder.config.json": JSON.stringify({
        backend: "ollama",
        model: SEED_MODEL,
        knowledge: ["agents/missing.txt"],
      }),
    });
    const out = path.join(broken, "rows.jsonl");
    const result = await runCli(["eval", "--suite", "builtin", "--limit", "2", "--out", out], {
      cwd: broken,
      env: env(),
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("agents/missing.txt");
    expect(existsSync(out)).toBe(false);
  });

  it("builder serve started in their folder with their num_thread 16 warns as run does (before loading anything)", async () => {
    const folder = tempDir("builder-seed-serve-");
    layOutTheirRepository(folder);
    // A model that does not exist: the warning comes first, then serve stops without loading anything.
    const result = await runCli(["serve", "--model", path.join(folder, "absent.gguf"), "--port", "0"], {
      cwd: folder,
      env: env(),
    });
    expect(result.code).not.toBe(0);
    const said = warnings(result.stderr).some((w) => /^num_thread: 16 is more than this machine's/.test(w));
    expect(said).toBe(threadsAboveCores);
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
    // init moved .ollamarc: doctor has nothing left to advise moving.
    expect(report.checks.find((c) => c.id === "legacy-settings")).toBeUndefined();
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
