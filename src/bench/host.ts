import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EmbeddedBackend } from "../backends/embedded/embedded-backend.js";
import { HostBackend } from "../backends/host/host-backend.js";
import type { Backend, GenerateRequest } from "../backends/types.js";
import { loadConfig } from "../config/load.js";
import { writeSyntheticGguf, type SyntheticModelOptions } from "../models/synthetic-gguf.js";
import { median, ratio, scratchDir } from "./measure.js";
import type { BenchModule, BenchResult, BenchSection, BenchSize } from "./types.js";

const CLI = fileURLToPath(new URL("../cli/main.js", import.meta.url));

/**
 * Full: about 270 MB of F32 weights (loading it takes seconds, and a process's own memory is small beside
 * it). Smoke: a small model, to prove the bench runs to the end.
 */
const HOST_MODELS: Record<BenchSize, SyntheticModelOptions & { blockCount: number; embeddingLength: number }> = {
  full: { embeddingLength: 1024, blockCount: 4, headCount: 16, feedForwardLength: 4096, contextLength: 16384 },
  smoke: { embeddingLength: 128, blockCount: 2, headCount: 4, feedForwardLength: 512, contextLength: 16384 },
};
/** The answer's bound in tokens (bounded answers: every run of the task generates at most this many). */
const ANSWER_TOKENS = 256;
/** Rounds of host vs in-process generation, interleaved (a shared CPU drifts minute to minute). */
const SPEED_ROUNDS: Record<BenchSize, number> = { full: 3, smoke: 1 };
/** Tokens per speed round. */
const SPEED_TOKENS = 48;

interface CliRun {
  wallMs: number;
  metrics: Record<string, unknown>;
  code: number | null;
  stderr: string;
}

/** Resident memory of the bench's Builder processes, sampled while they run. */
interface MemoryTrace {
  peakBytes: number;
  /** At the peak: each process's role and RSS. */
  atPeak: string;
}

/**
 * One Builder host per machine: `builder run` at num_ctx 4096 twice, then at 8192, then a
 * `builder serve` client chat, then `builder eval` on two builtin cases, in one sitting; the peak
 * resident memory of every Builder process together against one loaded copy (an in-process run at
 * 8192), the warm run's load + time to first token against the cold one's, and generation speed
 * through the host against in-process on the same prompt and grammar.
 */
export const hostBench: BenchModule = {
  id: "host",
  async run(size: BenchSize): Promise<BenchSection> {
    const model = HOST_MODELS[size];
    const rounds = SPEED_ROUNDS[size];
    const dir = scratchDir("builder-bench-host-");
    const modelPath = path.join(dir, "host.gguf");
    await writeSyntheticGguf(modelPath, model);
    const modelBytes = statSync(modelPath).size;
    const workspace = writeWorkspace(dir, modelPath);
    const env = benchEnv(dir);
    const copy = await oneCopy(workspace, env);
    const sitting = await oneSitting(workspace, env, modelPath);
    const speed = await speedHostVersusInProcess(workspace, dir, rounds);
    return {
      title: `One Builder host (synthesized ${model.blockCount}-block ${model.embeddingLength}-wide model, ${(modelBytes / 2 ** 20).toFixed(0)} MiB, CPU)`,
      results: [memoryResult(sitting, copy), warmResult(sitting), reloadResult(sitting), speedResult(speed, rounds)],
    };
  },
};

function benchEnv(dir: string): NodeJS.ProcessEnv {
  const cache = path.join(dir, "cache");
  return {
    ...process.env,
    XDG_CACHE_HOME: cache,
    HOME: cache,
    BUILDER_ENGINE_DIR: path.join(dir, "e"),
    BUILDER_KEEP_ALIVE: "5m",
    BUILDER_LOG_LEVEL: "info",
  };
}

/** One loaded copy: the peak RSS of an in-process `builder run` at the largest window of the sitting. */
async function oneCopy(workspace: string, env: NodeJS.ProcessEnv): Promise<{ run: CliRun; memory: MemoryTrace }> {
  const sampler = new MemorySampler(String(env.BUILDER_ENGINE_DIR));
  try {
    const run = await runBuilder(
      ["run", "task.json", "--no-verify", "--keep-alive", "0", "--num-ctx", "8192"],
      workspace,
      env,
    );
    return { run, memory: sampler.trace() };
  } finally {
    sampler.stop();
  }
}

/** What the sitting measured. */
interface Sitting {
  runs: CliRun[];
  chat: { ok: boolean; detail: string };
  evalRun: CliRun;
  memory: MemoryTrace;
  loadedModels: number;
}

/** The sitting: three runs, `builder serve` with a client chat, `builder eval` on two cases, memory sampled throughout. */
async function oneSitting(workspace: string, env: NodeJS.ProcessEnv, modelPath: string): Promise<Sitting> {
  const sampler = new MemorySampler(String(env.BUILDER_ENGINE_DIR));
  const run = (extra: string[] = []): Promise<CliRun> =>
    runBuilder(["run", "task.json", "--no-verify", ...extra], workspace, env);
  let serve: { child: ChildProcess; url: string } | undefined;
  try {
    const runs = [await run(), await run(), await run(["--num-ctx", "8192"])];
    serve = await startServe(modelPath, env);
    const chat = await chatOnce(serve.url);
    const evalRun = await runBuilder(
      ["eval", "--suite", "builtin", "--limit", "2", "--no-verify", "--num-ctx", "8192", "--json"],
      workspace,
      env,
    );
    const listed = await runBuilder(["ps", "--json"], workspace, env);
    const loadedModels = (JSON.parse(listed.stdout || "{}") as { models?: unknown[] }).models?.length ?? 0;
    return { runs, chat, evalRun, memory: sampler.trace(), loadedModels };
  } finally {
    sampler.stop();
    serve?.child.kill("SIGTERM");
    await runBuilder(["stop"], workspace, env).catch(() => undefined);
  }
}

const num = (r: CliRun, key: string): number => Number(r.metrics[key] ?? 0);
const ms = (value: number): string => `${Math.round(value)}`;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

function memoryResult(sitting: Sitting, copy: { run: CliRun; memory: MemoryTrace }): BenchResult {
  const value = ratio(sitting.memory.peakBytes, copy.memory.peakBytes);
  return {
    name: "peak resident memory of every Builder process together ÷ one loaded copy",
    value,
    unit: "ratio",
    target: "≤ 1.3",
    pass: value <= 1.3,
    detail: `peak ${mib(sitting.memory.peakBytes)} (${sitting.memory.atPeak}) over runs at num_ctx 4096, 4096, 8192 (exit ${sitting.runs.map((r) => String(r.code)).join("/")}), a builder serve chat (${sitting.chat.detail}) and builder eval on 2 builtin cases (exit ${String(sitting.evalRun.code)}); ${sitting.loadedModels} model(s) loaded at the end; one copy = an in-process builder run at 8192: ${mib(copy.memory.peakBytes)} (exit ${String(copy.run.code)})`,
  };
}

function warmResult({ runs }: Sitting): BenchResult {
  const [first, second] = runs as [CliRun, CliRun];
  const cold = num(first, "load_ms") + num(first, "time_to_first_token_ms");
  const warm = num(second, "load_ms") + num(second, "time_to_first_token_ms");
  const value = ratio(warm, cold);
  return {
    name: "warm run 2 ÷ run 1, load + time to first token (same num_ctx)",
    value,
    unit: "ratio",
    target: "≤ 0.1",
    pass: value <= 0.1,
    detail: `run 1: load ${ms(num(first, "load_ms"))} + ttft ${ms(num(first, "time_to_first_token_ms"))} ms (the host starts and loads); run 2: load ${ms(num(second, "load_ms"))} + ttft ${ms(num(second, "time_to_first_token_ms"))} ms, cached prefix ${String(second.metrics.cached_prefix_tokens)} of ${String(second.metrics.prompt_tokens)} tokens; engine ${String(second.metrics.engine)}`,
  };
}

function reloadResult({ runs }: Sitting): BenchResult {
  const [first, , larger] = runs as [CliRun, CliRun, CliRun];
  const cold = num(first, "load_ms") + num(first, "time_to_first_token_ms");
  const reload = num(larger, "load_ms") + num(larger, "time_to_first_token_ms");
  return {
    name: "run at num_ctx 8192 after runs at 4096 ÷ run 1, load + time to first token (the host reloads the one copy at the larger window)",
    value: ratio(reload, cold),
    unit: "ratio",
    detail: `load ${ms(num(larger, "load_ms"))} + ttft ${ms(num(larger, "time_to_first_token_ms"))} ms; cached prefix ${String(larger.metrics.cached_prefix_tokens)} tokens (restored from the prefix cache when a state of this window was saved before; the one-copy run saved one)`,
  };
}

/** Client-side generation speed: answer tokens ÷ the time from the first streamed piece to the end. */
interface Speed {
  host: number[];
  inProcess: number[];
  sameText: boolean;
}

function speedResult(speed: Speed, rounds: number): BenchResult {
  const value = ratio(median(speed.host), median(speed.inProcess));
  return {
    name: "generation tok/s through the host (HTTP over its socket) ÷ in-process, same prompt and grammar",
    value,
    unit: "ratio",
    target: "≥ 0.95",
    pass: value >= 0.95,
    detail: `host ${speed.host.map((v) => v.toFixed(1)).join(" / ")} tok/s, in-process ${speed.inProcess.map((v) => v.toFixed(1)).join(" / ")} tok/s over ${rounds} interleaved rounds of ${SPEED_TOKENS} tokens, measured by the caller; greedy output identical: ${speed.sameText}`,
  };
}

/** The same greedy generation under a grammar, through the host and in-process, rounds interleaved. */
async function speedHostVersusInProcess(workspace: string, dir: string, rounds: number): Promise<Speed> {
  const env = { ...benchEnv(dir), BUILDER_KEEP_ALIVE: "5m" };
  const base = loadConfig({ cwd: workspace, env });
  const config = { ...base, engine: base.engine ? { ...base.engine, host: true } : undefined };
  const host: Backend = new HostBackend(config, env);
  const inProcess: Backend = new EmbeddedBackend(base);
  const request: GenerateRequest = {
    messages: [
      { role: "system", content: "You write numbered lines." },
      { role: "user", content: "Write lines of lowercase words." },
    ],
    grammar: 'root ::= ("line " [a-z ]+ "\\n")+',
    sampling: { maxTokens: SPEED_TOKENS },
  };
  const speed: Speed = { host: [], inProcess: [], sameText: true };
  try {
    await host.prepare();
    await inProcess.prepare();
    await timed(host, request);
    await timed(inProcess, request);
    for (let round = 0; round < rounds; round++) {
      const viaHost = await timed(host, request);
      const here = await timed(inProcess, request);
      speed.host.push(viaHost.tokensPerSecond);
      speed.inProcess.push(here.tokensPerSecond);
      speed.sameText &&= viaHost.text === here.text;
    }
  } finally {
    await host.dispose();
    await inProcess.dispose();
    await runBuilder(["stop"], workspace, env).catch(() => undefined);
  }
  return speed;
}

async function timed(backend: Backend, request: GenerateRequest): Promise<{ tokensPerSecond: number; text: string }> {
  let first = 0;
  const result = await backend.generate({
    ...request,
    onTextChunk: () => {
      if (first === 0) first = performance.now();
    },
  });
  const seconds = (performance.now() - first) / 1000;
  return { tokensPerSecond: seconds > 0 ? (result.metrics.generatedTokens - 1) / seconds : 0, text: result.text };
}

async function chatOnce(url: string): Promise<{ ok: boolean; detail: string }> {
  const reply = await fetch(`${url}/api/chat`, {
    method: "POST",
    body: JSON.stringify({
      model: "host",
      messages: [{ role: "user", content: "Say something." }],
      stream: false,
      options: { num_predict: 32 },
    }),
  });
  const body = (await reply.json()) as { done?: boolean; eval_count?: number; error?: string };
  return { ok: body.done === true, detail: body.done ? `${body.eval_count} tokens` : `failed: ${body.error}` };
}

/** `builder serve` with the bench's host folder: it takes over from the background host. */
function startServe(modelPath: string, env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string }> {
  const args = [CLI, "serve", "--model", modelPath, "--name", "host", "--port", "0", "--num-ctx", "8192"];
  const child = spawn(process.execPath, args, { env, stdio: ["ignore", "pipe", "ignore"] });
  return new Promise((resolve, reject) => {
    let stdout = "";
    child.once("exit", (code) => reject(new Error(`builder serve exited with ${String(code)} before listening`)));
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const line = stdout.split("\n").find((l) => l.startsWith("{"));
      if (line) resolve({ child, url: (JSON.parse(line) as { url: string }).url });
    });
  });
}

/**
 * Samples the resident memory (VmRSS) of every process started with the bench's host folder in its
 * environment (its `builder` commands, the host they start, `builder serve`) every 100 ms; Linux only.
 */
class MemorySampler {
  private peak: MemoryTrace = { peakBytes: 0, atPeak: "" };
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly marker: string) {
    this.timer = setInterval(() => this.sample(), 100);
  }

  trace(): MemoryTrace {
    this.sample();
    return this.peak;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private sample(): void {
    let total = 0;
    const parts: string[] = [];
    for (const pid of listPids()) {
      const found = builderProcess(pid, this.marker);
      if (!found) continue;
      total += found.rss;
      parts.push(`${found.role} ${mib(found.rss)}`);
    }
    if (total > this.peak.peakBytes) this.peak = { peakBytes: total, atPeak: parts.join(", ") };
  }
}

function listPids(): string[] {
  try {
    return readdirSync("/proc").filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
}

/** The process's role and RSS when it is a Builder process of this bench (its environment names the host folder). */
function builderProcess(pid: string, marker: string): { role: string; rss: number } | undefined {
  try {
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
    if (!command.some((arg) => arg === CLI)) return undefined;
    if (!readFileSync(`/proc/${pid}/environ`, "utf8").includes(`BUILDER_ENGINE_DIR=${marker}\0`)) return undefined;
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    const role =
      command[command.indexOf(CLI) + 1] === "__builder-host" ? "host" : `builder ${command[command.indexOf(CLI) + 1]}`;
    return { role, rss: Number(rss ?? 0) * 1024 };
  } catch {
    return undefined;
  }
}

/** Writes the bench workspace: a knowledge file, a config naming the model (bounded answers), and a task. */
function writeWorkspace(dir: string, modelPath: string): string {
  const workspace = path.join(dir, "ws");
  mkdirSync(path.join(workspace, "knowledge"), { recursive: true });
  const line = "Contacts are written to PostgreSQL first, then indexed in Elasticsearch; validate input with zod.\n";
  writeFileSync(path.join(workspace, "knowledge", "project.md"), "# Project\n" + line.repeat(12));
  writeFileSync(
    path.join(workspace, "builder.config.json"),
    JSON.stringify({
      model: modelPath,
      knowledge: ["knowledge/project.md"],
      bounded_answer: true,
      options: { num_ctx: 4096, num_predict: ANSWER_TOKENS },
    }),
  );
  writeFileSync(
    path.join(workspace, "task.json"),
    JSON.stringify({
      task_id: "host",
      objective: "Add a test that createContact rejects an empty name",
      files: ["src/contact.test.ts"],
      acceptance: [],
      constraints: { loc_max: 200, pack: "" },
    }),
  );
  return workspace;
}

function runBuilder(args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<CliRun & { stdout: string }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    let stdout = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      const metrics = stderr
        .split("\n")
        .filter((l) => l.includes('"run metrics"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)[0];
      resolve({ wallMs: performance.now() - started, metrics: metrics ?? {}, code, stderr, stdout });
    });
  });
}
