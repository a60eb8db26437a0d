import { cpus } from "node:os";
import path from "node:path";
import { LlamaChatSession, type LlamaModel } from "node-llama-cpp";
import { runTask, RunFailure } from "../agent/run-task.js";
import { EmbeddedBackend } from "../backends/embedded/embedded-backend.js";
import type { Backend, GenerateRequest } from "../backends/types.js";
import { getLlamaRuntime } from "../backends/embedded/llama-runtime.js";
import { chooseThreads } from "../backends/embedded/thread-calibration.js";
import { loadConfig, type BuilderConfig } from "../config/load.js";
import { DEMO_PROJECT_DIR } from "../demo/run-demo.js";
import { writeSyntheticGguf } from "../models/synthetic-gguf.js";
import { readTaskFile } from "../task/read-task.js";
import { CodeSuggestionSchema, type BuilderTask } from "../task/schema.js";
import { median, ratio, scratchDir } from "./measure.js";
import type { BenchModule, BenchResult, BenchSection, BenchSize } from "./types.js";

/** Long enough (~340 generated tokens) that timer noise is small next to the generation. */
const ANSWER_TOKENS = 2048;
/** What one size of the bench runs. */
interface EngineSize {
  /** The answer budget (num_predict) of the speed comparison. */
  answerTokens: number;
  speedRounds: number;
  sweepRounds: number;
  /** Threads to use instead of the calibration's choice (which the sweep then checks against itself only). */
  threads?: number;
  reliabilityRuns: number;
}

/** `smoke` only runs every step: one thread (no calibration, no sweep), the least bounded budget, one round. */
const SIZES: Record<BenchSize, EngineSize> = {
  full: { answerTokens: ANSWER_TOKENS, speedRounds: 7, sweepRounds: 3, reliabilityRuns: 50 },
  // Two runs: one bounded, and the unbounded last one.
  smoke: { answerTokens: 900, speedRounds: 1, sweepRounds: 1, threads: 1, reliabilityRuns: 2 },
};

/** Generation speed, thread choice and answer reliability of the embedded engine, on a synthesized model. */
export const engineBench: BenchModule = {
  id: "engine",
  async run(size: BenchSize): Promise<BenchSection> {
    const { answerTokens, speedRounds, sweepRounds, reliabilityRuns, threads } = SIZES[size];
    const dir = scratchDir("builder-bench-engine-");
    const modelPath = path.join(dir, "tiny.gguf");
    await writeSyntheticGguf(modelPath, { contextLength: 8192 });
    const llama = await getLlamaRuntime("auto");
    const model = await llama.loadModel({ modelPath });
    try {
      const calibration =
        threads === undefined
          ? await chooseThreads(llama, model, modelPath, path.join(dir, "thread-calibration.json"))
          : { threads };
      const task = await readTaskFile(path.join(DEMO_PROJECT_DIR, "tasks", "create-contact.json"));
      const config = benchConfig(modelPath, calibration.threads, answerTokens, dir);
      // Every count from 1 to the logical cores: a wider net than the calibration's own candidates.
      const sweep = threads === undefined ? Array.from({ length: cpus().length }, (_, i) => i + 1) : [threads];
      // One capture serves both comparisons: the same config and task send the same request.
      const sent = await builderRequest(config, task);
      const results = [
        await builderVersusRaw(model, config, task, sent, speedRounds),
        await threadChoiceVersusSweep(model, config, sent, calibration.threads, { sweep, rounds: sweepRounds }),
        await reliability(modelPath, calibration.threads, task, dir, reliabilityRuns),
      ];
      return { title: "Embedded engine (synthesized 356-token model, CPU)", results };
    } finally {
      await model.dispose();
    }
  },
};

/** The bench's run configuration: the demo project's config on the synthesized model, seeded. */
export function benchConfig(
  modelPath: string,
  threads: number,
  numPredict: number,
  workspace: string,
  boundedAnswer = true,
): BuilderConfig {
  const base = loadConfig({ cwd: DEMO_PROJECT_DIR, env: {} });
  return {
    ...base,
    model: modelPath,
    workspace,
    // The demo's knowledge base lies outside the scratch workspace; without this the run refuses it.
    knowledgeAllowOutside: [...base.knowledgeAllowOutside, DEMO_PROJECT_DIR],
    boundedAnswer,
    options: {
      ...base.options,
      num_ctx: 6144,
      num_predict: numPredict,
      num_thread: threads,
      temperature: 0.2,
      seed: 7,
    },
  };
}

/** What Builder sent the engine for a task: its prompt and the answer format's GBNF grammar. */
export interface SentRequest {
  system: string;
  user: string;
  grammar: string;
}

/** Raw node-llama-cpp: the same prompt, grammar, threads and token limit, with no Builder code in the loop. */
async function rawTokensPerSecond(
  model: LlamaModel,
  config: BuilderConfig,
  sent: SentRequest,
  threads: number,
): Promise<number> {
  const grammar = await model.llama.createGrammar({ grammar: sent.grammar });
  const context = await model.createContext({ contextSize: config.options.num_ctx, threads });
  try {
    const session = new LlamaChatSession({ contextSequence: context.getSequence(), systemPrompt: sent.system });
    let first = 0;
    let last = 0;
    let tokens = 0;
    await session.prompt(sent.user, {
      grammar,
      maxTokens: config.options.num_predict,
      temperature: config.options.temperature,
      seed: config.options.seed,
      // Builder sends no repeat penalty unless one is configured: the same sampling on both sides.
      repeatPenalty: false,
      onToken: (chunk) => {
        last = performance.now();
        if (tokens === 0) first = last;
        tokens += chunk.length;
      },
    });
    return tokens > 1 ? (tokens - 1) / ((last - first) / 1000) : 0;
  } finally {
    await context.dispose();
  }
}

/**
 * The exact request Builder sends for `task` (workspace context included, and the text answer format's
 * grammar, src/answer/), so both sides generate under the same prompt and the same constraint.
 */
export async function builderRequest(config: BuilderConfig, task: BuilderTask): Promise<SentRequest> {
  const backend = new EmbeddedBackend(config);
  let captured: GenerateRequest | undefined;
  const recording: Backend = {
    prepare: () => backend.prepare(),
    countPromptTokens: (messages) => backend.countPromptTokens(messages),
    generate: (request) => {
      captured ??= request;
      return backend.generate(request);
    },
    dispose: () => backend.dispose(),
  };
  try {
    await runTask(task, { config, backend: recording });
  } finally {
    await backend.dispose();
  }
  const [system, user] = captured?.messages ?? [];
  if (captured?.messages.length !== 2 || system?.role !== "system" || user?.role !== "user")
    throw new Error("the bench expects Builder's prompt to be one system and one user message");
  if (captured.grammar === undefined)
    throw new Error("the bench expects the embedded engine's text answer under a GBNF grammar");
  return { system: system.content, user: user.content, grammar: captured.grammar };
}

async function builderTokensPerSecond(backend: Backend, config: BuilderConfig, task: BuilderTask): Promise<number> {
  const result = await runTask(task, { config, backend });
  return result.metrics.tokens_per_sec ?? 0;
}

async function builderVersusRaw(
  model: LlamaModel,
  config: BuilderConfig,
  task: BuilderTask,
  sent: SentRequest,
  rounds: number,
): Promise<BenchResult> {
  const builder: number[] = [];
  const raw: number[] = [];
  // Both sides keep their model loaded, as a long-lived Builder process does.
  const backend = new EmbeddedBackend(config);
  try {
    // Interleaved so that drift on a shared machine hits both sides alike.
    for (let round = 0; round < rounds; round += 1) {
      raw.push(await rawTokensPerSecond(model, config, sent, config.options.num_thread ?? 1));
      builder.push(await builderTokensPerSecond(backend, config, task));
    }
  } finally {
    await backend.dispose();
  }
  const value = ratio(median(builder), median(raw));
  return {
    name: "Builder generation tok/s ÷ raw node-llama-cpp tok/s (same prompt, grammar, threads)",
    value,
    unit: "ratio",
    target: "≥ 0.95",
    pass: value >= 0.95,
    detail: `median of ${rounds}: Builder ${median(builder).toFixed(1)} tok/s, raw ${median(raw).toFixed(1)} tok/s`,
  };
}

async function threadChoiceVersusSweep(
  model: LlamaModel,
  config: BuilderConfig,
  sent: SentRequest,
  chosen: number,
  { sweep, rounds }: { sweep: number[]; rounds: number },
): Promise<BenchResult> {
  const speeds = new Map<number, number[]>();
  for (let round = 0; round < rounds; round += 1) {
    for (const threads of sweep) {
      const list = speeds.get(threads) ?? [];
      list.push(await rawTokensPerSecond(model, config, sent, threads));
      speeds.set(threads, list);
    }
  }
  const medians = sweep.map((threads) => ({ threads, tps: median(speeds.get(threads) ?? []) }));
  const best = medians.reduce((a, b) => (b.tps > a.tps ? b : a));
  const chosenTps = medians.find((m) => m.threads === chosen)?.tps ?? 0;
  const value = ratio(chosenTps, best.tps);
  return {
    name: "Default thread choice tok/s ÷ best of a thread sweep",
    value,
    unit: "ratio",
    target: "≥ 0.9",
    pass: value >= 0.9,
    detail: `chose ${chosen} thread(s); sweep ${medians.map((m) => `${m.threads}t=${m.tps.toFixed(1)}`).join(", ")} tok/s`,
  };
}

/**
 * Many runs with varied seeds and budgets: each must end in a schema-valid suggestion or the clear
 * truncation error. Every fifth run, and the last, turns the answer bounds off with a small budget, which makes
 * truncation likely.
 */
async function reliability(
  modelPath: string,
  threads: number,
  task: BuilderTask,
  dir: string,
  runs: number,
): Promise<BenchResult> {
  // Tight to roomy budgets for the bounded text answer: its line count follows from num_predict.
  const budgets = [900, 1024, 1280];
  let valid = 0;
  let truncated = 0;
  const other: string[] = [];
  const backends = new Map<number, EmbeddedBackend>();
  try {
    for (let run = 0; run < runs; run += 1) {
      const bounded = run % 5 !== 4 && run !== runs - 1;
      const budget = bounded ? budgets[run % budgets.length] : 256;
      const config = benchConfig(modelPath, threads, budget, dir, bounded);
      config.options = { ...config.options, temperature: 0.9, seed: run };
      const backend = backends.get(budget) ?? new EmbeddedBackend(config);
      backends.set(budget, backend);
      try {
        const result = await runTask(task, { config, backend });
        if (CodeSuggestionSchema.safeParse(result.suggestion).success) valid += 1;
        else other.push("invalid suggestion");
      } catch (error) {
        const code = error instanceof RunFailure ? error.error.code : String(error);
        if (code === "GENERATION_TRUNCATED") truncated += 1;
        else other.push(code);
      }
    }
  } finally {
    for (const backend of backends.values()) await backend.dispose();
  }
  const value = ((valid + truncated) / runs) * 100;
  return {
    name: `Runs ending in a schema-valid suggestion or the clear truncation error (${runs} runs)`,
    value,
    unit: "%",
    target: "100%",
    pass: value === 100,
    detail: `${valid} valid, ${truncated} truncation errors${other.length ? `, other: ${other.join(", ")}` : ""}`,
  };
}
