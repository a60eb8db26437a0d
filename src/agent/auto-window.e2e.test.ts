import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedBackend } from "../backends/embedded/embedded-backend.js";
import { HostBackend } from "../backends/host/host-backend.js";
import { loadConfig } from "../config/load.js";
import { synthesizeQwenTestModel } from "../models/qwen-test-model.js";
import { jsonLines, runCli } from "../test-support/cli.js";
import { tempDir } from "../test-support/fixtures.js";
import { startServe, type ServeProcess } from "../test-support/serve.js";
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

describe("num_ctx auto through the Builder host (host mode), with the Qwen tokenizer", () => {
  let hostDir: string;
  let serve: ServeProcess;

  // `builder serve` is the machine's Builder host: runs in host mode load their model there.
  beforeAll(async () => {
    hostDir = tempDir("bh-");
    serve = await startServe(modelPath, [], { BUILDER_ENGINE_DIR: hostDir });
  });

  afterAll(async () => {
    await serve?.stop();
  });

  /** One run's backend: the embedded engine through the host in `hostDir`, num_ctx auto. */
  function hostBackend(): HostBackend {
    const env = { HOME: home, XDG_CACHE_HOME: home, BUILDER_ENGINE_DIR: hostDir, BUILDER_KEEP_ALIVE: "60s" };
    const config = loadConfig({
      cwd: tempDir("builder-ws-"),
      env,
      overrides: { model: modelPath, options: { num_thread: 1 } },
    });
    return new HostBackend(config, { ...process.env, ...env });
  }

  /** The window the host holds the model with, and its pid (`builder ps --json`). */
  async function resident(): Promise<{ window: number; pid: number }> {
    const listed = await runCli(["ps", "--json"], { env: { HOME: home, BUILDER_ENGINE_DIR: hostDir } });
    expect(listed.code, listed.stderr).toBe(0);
    const models = (JSON.parse(listed.stdout) as { models: Array<{ context_length: number; pid: number }> }).models;
    expect(models, listed.stdout).toHaveLength(1);
    return { window: models[0]!.context_length, pid: models[0]!.pid };
  }

  it("opens the bucket a 9K-token prompt needs on the host, and a later small task runs in the resident 32K window without a reload", async () => {
    const first = hostBackend();
    const info = await first.prepare();
    // On the host (builder serve), not in this process.
    expect(info.hostPid).toBe(serve.child.pid);
    expect(info.autoWindowCap).toBe(32768);
    expect((await first.fitWindow(9 * 1024 + 4096)).contextSize).toBe(16384);
    expect((await resident()).window).toBe(16384);
    // Another run needs more than 16K: the host reloads the model at 32K.
    const big = hostBackend();
    await big.prepare();
    expect((await big.fitWindow(20_000)).contextSize).toBe(32768);
    const grown = await resident();
    expect(grown.window).toBe(32768);
    // The next 9K-token task joins the resident 32K window: asking the host for 16K would reload it.
    const small = hostBackend();
    expect((await small.prepare()).contextSize).toBe(32768);
    expect((await small.fitWindow(9 * 1024 + 4096)).contextSize).toBe(32768);
    expect((await small.countPromptTokens([{ role: "user", content: "Make step75 return v1" }])).exact).toBe(true);
    expect(await resident()).toEqual(grown);
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
    // The outline and the regions fill the file's budget (12,288 tokens): about 15K tokens, the 16K bucket.
    expect(context.context_size).toBe(16384);
    const file = context.parts.find((p) => p.kind === "task-file" && p.label.startsWith("src/steps.ts"));
    // One region: step75 and its neighbours (the file has no imports; the task names nothing else).
    expect(file?.regions).toHaveLength(1);
    const region = file!.regions![0]!;
    expect(region.reason).toBe("the task names step75");
    expect(region.start).toBeLessThanOrEqual(1504);
    expect(region.end).toBeGreaterThanOrEqual(1523);
    expect(region.end - region.start).toBeLessThan(3000 / 2);
    expect(result.code, result.stderr.replace(/.*control-type.*\n/g, "").slice(-3000)).toBe(0);
    const after = readFileSync(path.join(root, "src/steps.ts"), "utf8").split("\n");
    const before = original.split("\n");
    const changed = before.map((line, i) => (after[i] === line ? -1 : i + 1)).filter((i) => i > 0);
    expect(after.join("\n")).not.toBe(original);
    // Lines before the region are untouched, and so is everything after it (counted from the end).
    expect(changed[0]).toBeGreaterThanOrEqual(region.start);
    const tail = before.length - region.end;
    expect(after.slice(after.length - tail)).toEqual(before.slice(before.length - tail));
  });
});
