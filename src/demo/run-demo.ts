import { existsSync } from "node:fs";
import path from "node:path";
import { runTask, type RunTaskResult } from "../agent/run-task.js";
import { loadConfig } from "../config/load.js";
import { writeSyntheticGguf } from "../models/synthetic-gguf.js";
import { readTaskFile } from "../task/read-task.js";
import { getLogger } from "../telemetry/logger.js";
import { packagePath } from "../package-root.js";

/** The sample project shipped with Builder (examples/crm). */
export const DEMO_PROJECT_DIR = packagePath("examples/crm");

/** File name of the synthesized demo model inside the model cache. */
export const DEMO_MODEL_FILE = "builder-demo-tiny-random.gguf";

/** Shown before the demo runs: the model is random, so only the pipeline is real. */
export const DEMO_BANNER = [
  "┌──────────────────────────────────────────────────────────────────────────┐",
  "│ Builder demo: a tiny RANDOM-WEIGHT model that Builder synthesized itself. │",
  "│ Its code is gibberish by design. What is real: llama.cpp loading the     │",
  "│ model, priming with the knowledge base, grammar-constrained edits,       │",
  "│ metrics and the honest UNVERIFIED report. Use a real model for real code.│",
  "└──────────────────────────────────────────────────────────────────────────┘",
].join("\n");

/** Options for {@link runDemo}. */
export interface DemoOptions {
  /** Where the demo model is kept; default: the configured model cache. */
  modelCacheDir?: string;
  /** Fixed thread count (skips calibration). */
  threads?: number;
}

/** Makes sure the demo model exists (synthesizing it once) and returns its path. */
export async function ensureDemoModel(cacheDir: string): Promise<string> {
  const modelPath = path.join(cacheDir, DEMO_MODEL_FILE);
  if (!existsSync(modelPath)) {
    getLogger().info({ path: modelPath }, "synthesizing the demo model (random weights, byte-level vocabulary)");
    await writeSyntheticGguf(modelPath, { contextLength: 8192, name: "builder-demo-tiny-random" });
  }
  return modelPath;
}

/** Runs the sample CRM task end to end on the synthesized model. */
export async function runDemo(options: DemoOptions = {}): Promise<RunTaskResult> {
  const base = loadConfig({ configPath: path.join(DEMO_PROJECT_DIR, "builder.config.json") });
  const cacheDir = options.modelCacheDir ?? base.modelCacheDir;
  const model = await ensureDemoModel(cacheDir);
  const config = loadConfig({
    configPath: path.join(DEMO_PROJECT_DIR, "builder.config.json"),
    // The random model never stops by itself: its answer is bounded in the worst case, in the window it was made with.
    overrides: {
      backend: "embedded",
      model,
      boundedAnswer: true,
      options: {
        num_ctx: 8192,
        num_predict: 1536,
        ...(options.threads !== undefined ? { num_thread: options.threads } : {}),
      },
    },
  });
  const task = await readTaskFile(path.join(DEMO_PROJECT_DIR, "tasks", "create-contact.json"));
  return runTask(task, { config: { ...config, modelCacheDir: cacheDir } });
}
