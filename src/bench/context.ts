import { rmSync } from "node:fs";
import path from "node:path";
import { EmbeddedBackend } from "../backends/embedded/embedded-backend.js";
import { loadConfig } from "../config/load.js";
import { assembleContext } from "../context/assemble.js";
import { clearRepoMapMemory, repoMapCacheFile } from "../context/repo-map.js";
import { estimatingCounter, type TokenCounter } from "../context/token-count.js";
import { gatherWorkspaceContext, normalizeTaskFiles } from "../context/workspace-context.js";
import { writeSyntheticGguf } from "../models/synthetic-gguf.js";
import type { BuilderTask } from "../task/schema.js";
import { writeFileAtomic } from "../workspace/atomic-write.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { median, scratchDir, timeMs } from "./measure.js";
import type { BenchModule, BenchResult, BenchSection, BenchSize } from "./types.js";

const FILES_PER_FOLDER = 20;
const CONTEXT_SIZE = 8192;
const NUM_PREDICT = 2048;
/** Files in the generated repository, and warm runs of each kind: `smoke` only runs every step. */
const SIZES: Record<BenchSize, { files: number; warmRuns: number }> = {
  full: { files: 2000, warmRuns: 5 },
  smoke: { files: 100, warmRuns: 1 },
};
const TARGET_WARM_MS = 1000;

/**
 * A generated TypeScript repository: `count` modules in folders of `FILES_PER_FOLDER`, each
 * exporting an interface, a class and functions, and importing its neighbours, so that parsing,
 * import resolution and ranking all have real work.
 */
async function generateRepository(root: string, count: number): Promise<void> {
  const writes: Array<Promise<void>> = [];
  for (let i = 0; i < count; i += 1) {
    const folder = `src/area-${String(Math.floor(i / FILES_PER_FOLDER)).padStart(3, "0")}`;
    const name = `module-${String(i).padStart(4, "0")}`;
    const previous = i % FILES_PER_FOLDER === 0 ? undefined : `./module-${String(i - 1).padStart(4, "0")}.js`;
    const lines = [
      ...(previous ? [`import { compute${i - 1} } from "${previous}";`] : []),
      `import { readFile } from "node:fs/promises";`,
      "",
      `/** Record ${i}. */`,
      `export interface Record${i} {`,
      "  id: string;",
      "  createdAt: Date;",
      `  values: number[];`,
      "}",
      "",
      `export type Key${i} = keyof Record${i};`,
      "",
      `export function compute${i}(input: Record${i}, factor = ${i}): number {`,
      `  return input.values.reduce((sum, v) => sum + v * factor, 0)${previous ? ` + compute${i - 1}(input as never)` : ""};`,
      "}",
      "",
      `export class Service${i} {`,
      "  constructor(private readonly path: string) {}",
      `  async load(id: string): Promise<Record${i} | undefined> {`,
      "    const text = await readFile(this.path, 'utf8');",
      "    return text.includes(id) ? undefined : undefined;",
      "  }",
      "}",
      "",
    ];
    writes.push(writeFileAtomic(path.join(root, folder, `${name}.ts`), lines.join("\n")));
  }
  await Promise.all(writes);
  await writeFileAtomic(path.join(root, "builder.config.json"), "{}\n");
}

/** The task: a module in the middle of the repository (module 1005 of 2,000). */
function middleTask(count: number): BuilderTask {
  const i = Math.floor(count / 2) + 5;
  const folder = `src/area-${String(Math.floor(i / FILES_PER_FOLDER)).padStart(3, "0")}`;
  return {
    task_id: "bench-context",
    objective: `Add caching to Service${i}.load and compute${i}`,
    files: [`${folder}/module-${String(i).padStart(4, "0")}.ts`],
    acceptance: ["load reads each file once"],
    constraints: { loc_max: 100, pack: "" },
  };
}

async function buildContext(root: string, task: BuilderTask, counter: TokenCounter): Promise<number> {
  const sandbox = await WorkspaceSandbox.open({ root });
  const normalized = await normalizeTaskFiles(sandbox, task);
  const workspace = await gatherWorkspaceContext(sandbox, normalized);
  const context = await assembleContext({
    task: normalized,
    priming: [],
    workspace,
    counter,
    contextSize: CONTEXT_SIZE,
    numPredict: NUM_PREDICT,
  });
  return context.promptTokens;
}

/** Context assembly for a 2,000-file TypeScript repository: cold (nothing cached), warm from the disk cache (a new CLI process), warm in memory. */
export const contextBench: BenchModule = {
  id: "context",
  async run(size: BenchSize): Promise<BenchSection> {
    const { files, warmRuns } = SIZES[size];
    const root = scratchDir("builder-bench-context-");
    await generateRepository(root, files);
    const task = middleTask(files);
    try {
      const estimated = await estimatedTimings(root, task, warmRuns);
      const exact = await exactTimings(root, task, warmRuns);
      return { title: "Workspace context", results: contextResults(estimated, exact, files) };
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

/** Assembly times with the estimating counter: cold, then warm from the disk cache, then warm in memory. */
interface EstimatedTimings {
  cold: number;
  promptTokens: number;
  fromDisk: number[];
  inMemory: number[];
}

async function estimatedTimings(root: string, task: BuilderTask, runs: number): Promise<EstimatedTimings> {
  rmSync(repoMapCacheFile(root), { force: true });
  clearRepoMapMemory();
  let promptTokens = 0;
  const cold = await timeMs(async () => (promptTokens = await buildContext(root, task, estimatingCounter)));
  const fromDisk: number[] = [];
  for (let i = 0; i < runs; i += 1) {
    clearRepoMapMemory();
    fromDisk.push(await timeMs(() => buildContext(root, task, estimatingCounter)));
  }
  const inMemory: number[] = [];
  for (let i = 0; i < runs; i += 1) inMemory.push(await timeMs(() => buildContext(root, task, estimatingCounter)));
  return { cold, promptTokens, fromDisk, inMemory };
}

/**
 * The same warm build, counting with a real llama.cpp tokenizer (a synthesized model's byte-level
 * vocabulary: the worst case, one token per byte).
 */
async function exactTimings(root: string, task: BuilderTask, runs: number): Promise<number[]> {
  const modelPath = path.join(root, ".bench-model", "tiny.gguf");
  await writeSyntheticGguf(modelPath, { contextLength: CONTEXT_SIZE });
  const backend = new EmbeddedBackend(
    loadConfig({ cwd: root, overrides: { model: modelPath, options: { num_thread: 1, num_ctx: CONTEXT_SIZE } } }),
  );
  const exact: number[] = [];
  try {
    await backend.prepare();
    for (let i = 0; i < runs; i += 1) {
      clearRepoMapMemory();
      exact.push(await timeMs(() => buildContext(root, task, backend)));
    }
  } finally {
    await backend.dispose();
  }
  return exact;
}

function contextResults(estimated: EstimatedTimings, exact: number[], fileCount: number): BenchResult[] {
  const { cold, promptTokens, fromDisk, inMemory } = estimated;
  const warm = median(fromDisk);
  const list = (values: number[]): string => values.map((v) => Math.round(v)).join(", ");
  return [
    {
      name: `context for a ${fileCount}-file TypeScript repo, cold (every file parsed)`,
      value: Math.round(cold),
      unit: "ms",
      detail: `prompt ${promptTokens} tokens (estimated) of a ${CONTEXT_SIZE}-token window`,
    },
    {
      name: `context for a ${fileCount}-file TypeScript repo, warm (new process, outline cache on disk)`,
      value: Math.round(warm),
      unit: "ms",
      target: `< ${TARGET_WARM_MS} ms`,
      pass: warm < TARGET_WARM_MS,
      detail: `median of ${fromDisk.length}: ${list(fromDisk)} ms`,
    },
    {
      name: "same, warm in memory (long-lived process)",
      value: Math.round(median(inMemory)),
      unit: "ms",
      detail: `median of ${fromDisk.length}: ${list(inMemory)} ms`,
    },
    {
      name: "same, warm from disk, counting with a real llama.cpp tokenizer",
      value: Math.round(median(exact)),
      unit: "ms",
      target: `< ${TARGET_WARM_MS} ms`,
      pass: median(exact) < TARGET_WARM_MS,
      detail: `median of ${exact.length}: ${list(exact)} ms; synthesized byte-level model, 1 thread`,
    },
  ];
}
