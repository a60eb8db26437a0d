import { readFileSync, statSync } from "node:fs";
import { cpus, hostname } from "node:os";
import path from "node:path";
import type { Llama, LlamaModel } from "node-llama-cpp";
import { writeFileAtomic } from "../../workspace/atomic-write.js";
import { getLogger } from "../../telemetry/logger.js";

/** The result of measuring generation speed at several thread counts. */
export interface ThreadCalibration {
  threads: number;
  /** Generation tokens/s measured for each candidate thread count. */
  tokensPerSecond: Record<string, number>;
  measuredAt: string;
}

const CALIBRATION_TEXT = "export function add(a: number, b: number): number {\n  return a + b;\n}\n";
const TOKENS_PER_CANDIDATE = 12;
const SECONDS_PER_CANDIDATE = 3;

/**
 * Thread counts worth trying: powers of two up to the cores llama.cpp computes on, and that count
 * itself. Never more threads than cores: on a 2-core machine, oversubscribed llama.cpp threads ran a
 * tiny model about 300 times slower than one thread.
 */
export function threadCandidates(mathCores: number): number[] {
  const cores = Math.max(1, mathCores);
  const candidates = new Set<number>([cores]);
  for (let t = 1; t <= cores; t *= 2) candidates.add(t);
  return [...candidates].sort((a, b) => a - b);
}

/** Measures generation tokens/s for one thread count on a small scratch context. */
export async function measureThreads(model: LlamaModel, threads: number, batchSize?: number): Promise<number> {
  const context = await model.createContext({ contextSize: 256, threads, batchSize, sequences: 1 });
  try {
    const sequence = context.getSequence();
    const prompt = model.tokenize(CALIBRATION_TEXT);
    let generated = 0;
    let firstAt = 0;
    let lastAt = 0;
    for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
      void token;
      lastAt = performance.now();
      if (generated === 0) firstAt = lastAt;
      generated += 1;
      if (generated >= TOKENS_PER_CANDIDATE || lastAt - firstAt > SECONDS_PER_CANDIDATE * 1000) break;
    }
    const seconds = (lastAt - firstAt) / 1000;
    return generated > 1 && seconds > 0 ? (generated - 1) / seconds : 0;
  } finally {
    await context.dispose();
  }
}

/**
 * Picks the thread count for this machine and model by measurement, cached in `cacheFile` per
 * machine, model file and GPU setting so that only the first run pays for it. `onStep` is told
 * `done` of `total` candidates measured, when there is anything to measure.
 */
export async function chooseThreads(
  llama: Llama,
  model: LlamaModel,
  modelPath: string,
  cacheFile: string,
  onStep?: (done: number, total: number) => void,
): Promise<ThreadCalibration> {
  const key = calibrationKey(llama, modelPath);
  const cache = readCache(cacheFile);
  const cached = cache[key];
  if (cached) return cached;

  const logger = getLogger();
  const candidates = threadCandidates(llama.cpuMathCores);
  if (candidates.length === 1) {
    const only = { threads: candidates[0], tokensPerSecond: {}, measuredAt: new Date().toISOString() };
    cache[key] = only;
    await writeFileAtomic(cacheFile, JSON.stringify(cache, null, 2) + "\n");
    return only;
  }
  logger.info({ candidates }, "measuring the best thread count for this machine and model (once)");
  // A first untimed pass pages the weights in, so the first candidate is not penalised.
  onStep?.(0, candidates.length);
  await measureThreads(model, candidates[0]);
  const tokensPerSecond: Record<string, number> = {};
  for (const [index, threads] of candidates.entries()) {
    tokensPerSecond[String(threads)] = await measureThreads(model, threads);
    onStep?.(index + 1, candidates.length);
  }
  const best = candidates.reduce((a, b) => (tokensPerSecond[String(b)] > tokensPerSecond[String(a)] ? b : a));
  const calibration: ThreadCalibration = { threads: best, tokensPerSecond, measuredAt: new Date().toISOString() };
  logger.info({ threads: best, tokensPerSecond }, "thread calibration done");
  cache[key] = calibration;
  await writeFileAtomic(cacheFile, JSON.stringify(cache, null, 2) + "\n");
  return calibration;
}

function calibrationKey(llama: Llama, modelPath: string): string {
  const stat = statSync(modelPath);
  const cpu = cpus()[0]?.model ?? "unknown-cpu";
  return [hostname(), cpu, cpus().length, llama.gpu, path.resolve(modelPath), stat.size, Math.round(stat.mtimeMs)].join(
    "|",
  );
}

function readCache(cacheFile: string): Record<string, ThreadCalibration> {
  try {
    const parsed: unknown = JSON.parse(readFileSync(cacheFile, "utf8"));
    return parsed && typeof parsed === "object" ? (parsed as Record<string, ThreadCalibration>) : {};
  } catch {
    return {};
  }
}
