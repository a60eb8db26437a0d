import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { seededRandom } from "../models/seeded-random.js";
import type { RunMetrics } from "../telemetry/metrics.js";

const MODELS: ReadonlyArray<[string, string]> = [
  ["embedded", "/models/qwen2.5-coder-7b-instruct-q4_k_m.gguf"],
  ["embedded", "/models/qwen2.5-coder-32b-instruct-q4_k_m.gguf"],
  ["ollama", "qwen2.5-coder:14b"],
  ["openai", "codestral-22b"],
];
const VERDICTS = ["VERIFIED", "VERIFIED", "VERIFIED", "FAILED", "UNVERIFIED"];

/**
 * Writes `count` plausible metrics lines (four backends/models, some failures, verdicts and repair
 * rounds on most lines) one minute apart from `start`: test and benchmark input for `builder stats`.
 */
export async function writeSyntheticMetrics(
  filePath: string,
  count: number,
  seed = 7,
  start = Date.parse("2025-01-01T00:00:00Z"),
): Promise<void> {
  await mkdir(path.dirname(filePath), { recursive: true });
  const random = seededRandom(seed);
  const out = createWriteStream(filePath, { encoding: "utf8" });
  let chunk = "";
  for (let i = 0; i < count; i += 1) {
    const [backend, model] = MODELS[Math.floor(random() * MODELS.length)];
    const success = random() > 0.08;
    const generated = success ? 200 + Math.floor(random() * 1800) : 0;
    const speed = success ? Math.round((10 + random() * 90) * 100) / 100 : null;
    const record: RunMetrics = {
      event: "run",
      run_id: `gen-${i}`,
      timestamp: new Date(start + i * 60_000).toISOString(),
      task_id: `task-${i % 500}`,
      backend,
      model,
      load_ms: Math.round(random() * 3000),
      prompt_tokens: 500 + Math.floor(random() * 6000),
      prompt_ms: Math.round(random() * 2000),
      time_to_first_token_ms: success ? Math.round(100 + random() * 1500) : null,
      generated_tokens: generated,
      tokens_per_sec: speed,
      total_ms: Math.round(success && speed ? (generated / speed) * 1000 + random() * 4000 : random() * 5000),
      success,
      error: success ? null : "GENERATION_TRUNCATED",
      ...(i % 10 === 0
        ? {}
        : {
            verdict: success ? VERDICTS[Math.floor(random() * VERDICTS.length)] : "UNVERIFIED",
            repair_rounds: Math.floor(random() * 3),
          }),
    };
    chunk += JSON.stringify(record) + "\n";
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once("drain", () => resolve()));
      chunk = "";
    }
  }
  await new Promise<void>((resolve, reject) => out.end(chunk, () => resolve()).on("error", reject));
}
