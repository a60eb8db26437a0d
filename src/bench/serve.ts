import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { runMany } from "../agent/run-many.js";
import { runTask } from "../agent/run-task.js";
import { EmbeddedBackend } from "../backends/embedded/embedded-backend.js";
import { OllamaBackend } from "../backends/ollama/ollama-backend.js";
import type { Backend } from "../backends/types.js";
import { loadConfig, type BuilderConfig } from "../config/load.js";
import { DEMO_PROJECT_DIR } from "../demo/run-demo.js";
import { writeSyntheticGguf } from "../models/synthetic-gguf.js";
import { readTaskFile } from "../task/read-task.js";
import type { BuilderTask } from "../task/schema.js";
import { median, ratio } from "./measure.js";
import type { BenchModule, BenchResult, BenchSection, BenchSize } from "./types.js";

/** Interleaved rounds per side, and tasks at once on one server: `smoke` only runs every step. */
const SIZES: Record<BenchSize, { rounds: number; concurrentTasks: number }> = {
  full: { rounds: 5, concurrentTasks: 8 },
  smoke: { rounds: 1, concurrentTasks: 2 },
};
const NUM_CTX = 6144;
const NUM_PREDICT = 1024;
const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/**
 * `builder serve` and the Ollama backend: one task's generation speed through the server versus the
 * embedded engine in this process, and the throughput of 8 tasks at once on one server versus one by one.
 * Its runs bound their answers (`bounded_answer`): the random model never stops by itself.
 */
export const serveBench: BenchModule = {
  id: "serve",
  async run(size: BenchSize): Promise<BenchSection> {
    const { rounds, concurrentTasks } = SIZES[size];
    const dir = mkdtempSync(path.join(tmpdir(), "builder-bench-serve-"));
    const modelPath = path.join(dir, "tiny.gguf");
    await writeSyntheticGguf(modelPath, { contextLength: NUM_CTX });
    const task = await readTaskFile(path.join(DEMO_PROJECT_DIR, "tasks", "create-contact.json"));
    const files = taskFiles(task, dir, concurrentTasks);
    const results: BenchResult[] = [];
    const single = await startServe(modelPath, 1);
    let sequential: Throughput;
    try {
      results.push(
        await speedRatio(embeddedBenchConfig(modelPath, dir), ollamaBenchConfig(single.url, dir), task, rounds),
      );
      sequential = await warmThroughput(files, ollamaBenchConfig(single.url, dir), 1);
    } finally {
      await single.stop();
    }
    const parallel = await startServe(modelPath, concurrentTasks);
    try {
      const config = ollamaBenchConfig(parallel.url, dir);
      const concurrent = await warmThroughput(files, config, concurrentTasks);
      const sequentialOnParallel = await warmThroughput(files, config, 1);
      const value = ratio(concurrent.tokensPerSecond, sequential.tokensPerSecond);
      results.push({
        name: `${concurrentTasks} tasks at once on one builder serve (--parallel ${concurrentTasks}) ÷ one by one (--parallel 1), generated tok/s`,
        value,
        unit: "ratio",
        detail:
          `concurrent: ${describe(concurrent)}; one by one: ${describe(sequential)}; one by one on the --parallel ${concurrentTasks} server: ${describe(sequentialOnParallel)}. ` +
          `Each side ran the ${concurrentTasks} tasks once before measuring, so every sequence holds the shared prompt prefix.`,
      });
    } finally {
      await parallel.stop();
    }
    return { title: "builder serve and the Ollama backend (synthesized model, CPU, 1 thread)", results };
  },
};

/** The embedded engine in this process on the model file. */
function embeddedBenchConfig(modelPath: string, workspace: string): BuilderConfig {
  return { ...commonBenchConfig(workspace), backend: "embedded", model: modelPath };
}

/** The Ollama backend on the `builder serve` at `host`. */
function ollamaBenchConfig(host: string, workspace: string): BuilderConfig {
  const common = commonBenchConfig(workspace);
  return {
    ...common,
    backend: "ollama",
    model: "bench:latest",
    ollama: { ...common.ollama, host, hosts: [host], keepAlive: -1 },
  };
}

/** The demo project's config with the bench's options, both sides alike. */
function commonBenchConfig(workspace: string): BuilderConfig {
  const base = loadConfig({ cwd: DEMO_PROJECT_DIR, env: {} });
  const options = {
    ...base.options,
    num_ctx: NUM_CTX,
    num_predict: NUM_PREDICT,
    num_thread: 1,
    temperature: 0.2,
    seed: 7,
  };
  // The demo's knowledge base lies outside the scratch workspace; without this the run refuses it.
  const knowledgeAllowOutside = [...base.knowledgeAllowOutside, DEMO_PROJECT_DIR];
  // A random model never stops by itself: without bounds every answer runs out of tokens (GENERATION_TRUNCATED).
  return { ...base, workspace, knowledgeAllowOutside, options, boundedAnswer: true };
}

/** One task: client-observed streaming speed and the speed in Builder's metrics line. */
async function oneTask(
  backend: Backend,
  config: BuilderConfig,
  task: BuilderTask,
): Promise<{ streamed: number; reported: number }> {
  let first = 0;
  let last = 0;
  const result = await runTask(task, {
    config,
    backend,
    onTextChunk: () => {
      last = performance.now();
      if (first === 0) first = last;
    },
  });
  const tokens = result.metrics.generated_tokens;
  return {
    streamed: tokens > 1 && last > first ? ((tokens - 1) / (last - first)) * 1000 : 0,
    reported: result.metrics.tokens_per_sec ?? 0,
  };
}

async function speedRatio(
  embeddedConfig: BuilderConfig,
  ollamaConfig: BuilderConfig,
  task: BuilderTask,
  rounds: number,
): Promise<BenchResult> {
  const embedded = new EmbeddedBackend(embeddedConfig);
  const ollama = new OllamaBackend(ollamaConfig);
  const viaServer: Array<{ streamed: number; reported: number }> = [];
  const inProcess: Array<{ streamed: number; reported: number }> = [];
  try {
    // Warm-up: load, grammar compilation and the first prompt evaluation are not what is compared.
    await oneTask(embedded, embeddedConfig, task);
    await oneTask(ollama, ollamaConfig, task);
    // Interleaved, so that drift on a shared machine hits both sides alike.
    for (let round = 0; round < rounds; round++) {
      inProcess.push(await oneTask(embedded, embeddedConfig, task));
      viaServer.push(await oneTask(ollama, ollamaConfig, task));
    }
  } finally {
    await embedded.dispose();
    await ollama.dispose();
  }
  const streamed = ratio(median(viaServer.map((r) => r.streamed)), median(inProcess.map((r) => r.streamed)));
  const reported = ratio(median(viaServer.map((r) => r.reported)), median(inProcess.map((r) => r.reported)));
  return {
    name: "one task, tok/s via builder serve + Ollama backend ÷ embedded in-process (as the client sees the stream)",
    value: streamed,
    unit: "ratio",
    target: "≥ 0.9",
    pass: streamed >= 0.9,
    detail:
      `median of ${rounds}: via server ${median(viaServer.map((r) => r.streamed)).toFixed(1)} tok/s, in-process ${median(inProcess.map((r) => r.streamed)).toFixed(1)} tok/s; ` +
      `metrics line (server counters ÷ engine): ${reported.toFixed(3)}`,
  };
}

interface Throughput {
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  failed: number;
}

function taskFiles(task: BuilderTask, dir: string, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const file = path.join(dir, `task-${i + 1}.json`);
    writeFileSync(file, JSON.stringify({ ...task, task_id: `bench-${i + 1}` }));
    return file;
  });
}

/** Generated tokens per second of wall time for all `files`, `concurrency` at a time, after one unmeasured pass. */
async function warmThroughput(files: string[], config: BuilderConfig, concurrency: number): Promise<Throughput> {
  const backend = new OllamaBackend(config);
  try {
    const failed = (await runMany(files, { config, backend, concurrency })).find((o) => !o.ok);
    // A task that fails on the synthesized model is a broken bench, not a figure.
    if (failed && !failed.ok) throw failed.error;
    const started = performance.now();
    const outcomes = await runMany(files, { config, backend, concurrency });
    const seconds = (performance.now() - started) / 1000;
    const tokens = outcomes.reduce((sum, o) => sum + (o.ok ? o.result.metrics.generated_tokens : 0), 0);
    return { tokens, seconds, tokensPerSecond: tokens / seconds, failed: outcomes.filter((o) => !o.ok).length };
  } finally {
    await backend.dispose();
  }
}

function describe(t: Throughput): string {
  return `${t.tokensPerSecond.toFixed(1)} tok/s (${t.tokens} tokens in ${t.seconds.toFixed(2)} s${t.failed > 0 ? `, ${t.failed} failed` : ""})`;
}

interface ServeChild {
  url: string;
  stop(): Promise<void>;
}

/** Starts `builder serve` from the build as its own process, as users run it. */
function startServe(modelPath: string, parallel: number): Promise<ServeChild> {
  const args = [
    CLI,
    "serve",
    "--model",
    modelPath,
    "--name",
    "bench",
    "--port",
    "0",
    "--threads",
    "1",
    "--num-ctx",
    String(NUM_CTX),
    "--parallel",
    String(parallel),
    "--keep-alive",
    "-1",
    "--log-level",
    "warn",
  ];
  // A host folder of its own: the bench's server never meets (nor replaces) the user's Builder host.
  const env = { ...process.env, BUILDER_ENGINE_DIR: mkdtempSync(path.join(tmpdir(), "bb-")) };
  const child: ChildProcess = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return new Promise((resolve, reject) => {
    let stdout = "";
    child.once("exit", (code) => reject(new Error(`builder serve exited with ${String(code)} before listening`)));
    child.stdout?.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (!line) return;
      const { url } = JSON.parse(line) as { url: string };
      resolve({
        url,
        stop: async () => {
          child.kill("SIGTERM");
          await exited;
        },
      });
    });
  });
}
