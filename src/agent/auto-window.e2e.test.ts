import { readFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedBackend } from "../backends/embedded/embedded-backend.js";
import { loadConfig } from "../config/load.js";
import { synthesizeQwenTestModel } from "../models/qwen-test-model.js";
import { jsonLines, runCli } from "../test-support/cli.js";
import { tempDir } from "../test-support/fixtures.js";
import { gitRepo } from "../test-support/git-repo.js";

/** A 3,000-line module of 150 twenty-line functions (`step0` … `step149`), about 45,000 Qwen tokens. */
function bigModule(): string {
  const lines: string[] = [];
  for (let f = 0; lines.length < 3000; f++) {
    lines.push(`export function step${f}(seed: number): number {`);
    for (let k = 0; k < 17; k++) lines.push(`  const v${k} = compute("stage ${f}.${k}", seed) + ${k};`);
    lines.push("  return v0;", "}");
  }
  return lines.join("\n") + "\n";
}

let modelPath: string;
let home: string;
const backends: EmbeddedBackend[] = [];

beforeAll(async () => {
  modelPath = await synthesizeQwenTestModel();
  home = tempDir("builder-home-");
});

afterEach(async () => {
  for (const backend of backends.splice(0)) await backend.dispose();
});

/** The embedded backend on the Qwen-tokenizer model (trained on 32K tokens), with `options`. */
function backendWith(options: Record<string, unknown>): EmbeddedBackend {
  const config = loadConfig({
    cwd: tempDir("builder-ws-"),
    env: { HOME: home, XDG_CACHE_HOME: home },
    overrides: { model: modelPath, options: { num_thread: 1, ...options } },
  });
  const backend = new EmbeddedBackend(config);
  backends.push(backend);
  return backend;
}

describe("num_ctx auto on the real engine, with the Qwen tokenizer", () => {
  it("opens 16K for a 9K-token prompt, 32K for a bigger one, and keeps 32K (no reload) for the next 9K prompt", async () => {
    const backend = backendWith({});
    const info = await backend.prepare();
    expect(info.contextSize).toBe(8192);
    expect(info.autoWindowCap).toBe(32768);
    expect((await backend.fitWindow(9 * 1024 + 4096)).contextSize).toBe(16384);
    const grown = await backend.fitWindow(20_000);
    expect(grown.contextSize).toBe(32768);
    const kept = await backend.fitWindow(9 * 1024 + 4096);
    expect(kept.contextSize).toBe(32768);
    // Not reloaded: the load time (which a new context adds to) did not change.
    expect(kept.loadMs).toBe(grown.loadMs);
  });

  it("keeps an explicit num_ctx: no automatic window", async () => {
    const info = await backendWith({ num_ctx: 12288 }).prepare();
    expect(info.contextSize).toBe(12288);
    expect(info.autoWindowCap).toBeUndefined();
  });
});

describe("a task on a 3,000-line file, larger than any window the model allows", () => {
  it("shows the function the objective names, in regions; the edit applies there and nothing else changes", async () => {
    const original = bigModule();
    const root = gitRepo({
      "builder.config.json": JSON.stringify({
        model: modelPath,
        bounded_answer: true,
        options: { num_predict: 700, num_thread: 1, seed: 5 },
        verify: { enabled: false },
      }),
      "src/steps.ts": original,
    });
    const result = await runCli(
      [
        "run",
        "-m",
        "Make step75 return v1 instead of v0",
        "-f",
        "src/steps.ts",
        "--apply",
        "--explain-context",
        "json",
      ],
      { cwd: root, env: { HOME: home, XDG_CACHE_HOME: home } },
    );
    const context = jsonLines(result.stderr).find((line) => "context" in line)?.context as {
      context_size: number;
      requested_context_size: string;
      parts: Array<{ kind: string; label: string; regions?: Array<{ start: number; end: number; reason: string }> }>;
    };
    expect(context, result.stderr.slice(-3000)).toBeDefined();
    expect(context.requested_context_size).toBe("auto");
    // Outline and one region: a small prompt, so the smallest bucket.
    expect(context.context_size).toBe(8192);
    const file = context.parts.find((p) => p.kind === "task-file" && p.label.startsWith("src/steps.ts"));
    expect(file?.regions).toEqual([{ start: 1498, end: 1523, reason: "the task names step75" }]);
    expect(result.code, result.stderr.replace(/.*control-type.*\n/g, "").slice(-3000)).toBe(0);
    const after = readFileSync(path.join(root, "src/steps.ts"), "utf8").split("\n");
    const before = original.split("\n");
    const changed = before.map((line, i) => (after[i] === line ? -1 : i + 1)).filter((i) => i > 0);
    expect(after.join("\n")).not.toBe(original);
    // Lines before the region are untouched, and so is everything after it (counted from the end).
    expect(changed[0]).toBeGreaterThanOrEqual(1498);
    const tail = before.length - 1523;
    expect(after.slice(after.length - tail)).toEqual(before.slice(before.length - tail));
  });
});
