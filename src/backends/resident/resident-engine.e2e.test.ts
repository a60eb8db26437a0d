import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jsonLines, runCli, type CliResult } from "../../test-support/cli.js";
import { SAMPLE_TASK, sampleWorkspace, synthesizeTestModel, tempDir, writeFiles } from "../../test-support/fixtures.js";
import { processAlive } from "./engine-paths.js";

/** A knowledge base long enough to be worth caching (the stable prefix). */
const KNOWLEDGE =
  "# Project\n" +
  "Strict TypeScript. No any. PostgreSQL first, then Elasticsearch. Validate input with zod.\n".repeat(10);

let model: string;
const engineDirs: string[] = [];

beforeAll(async () => {
  model = await synthesizeTestModel();
});

/** Every engine a test started is stopped, even when the test failed before stopping it. */
afterAll(async () => {
  for (const dir of engineDirs) {
    await runCli(["stop"], { env: { BUILDER_ENGINE_DIR: dir } });
    for (const pid of enginePids(dir)) if (processAlive(pid)) process.kill(pid, "SIGKILL");
  }
});

/**
 * A workspace, a cache and an engine folder of its own (never the user's runtime folder). The answer is
 * bounded at 448 tokens, about the least a two-file bounded answer allows: the random model fills it.
 */
function setup(keepAlive = "60s"): { workspace: string; env: NodeJS.ProcessEnv; dir: string } {
  const workspace = sampleWorkspace(model, { num_ctx: 4096, num_predict: 448 });
  writeFiles(workspace, { "knowledge/project-context.md": KNOWLEDGE });
  const cache = tempDir("builder-cache-");
  const dir = tempDir("be-");
  engineDirs.push(dir);
  return {
    workspace,
    dir,
    env: { XDG_CACHE_HOME: cache, HOME: cache, BUILDER_ENGINE_DIR: dir, BUILDER_KEEP_ALIVE: keepAlive },
  };
}

function run(workspace: string, env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runCli(["run"], { cwd: workspace, stdin: JSON.stringify(SAMPLE_TASK), env });
}

function metricsOf(result: CliResult): Record<string, unknown> {
  const line = jsonLines(result.stderr).find((l) => l.msg === "run metrics");
  expect(line, result.stderr).toBeDefined();
  return line ?? {};
}

function enginePids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".json"))
    .flatMap((name) => {
      try {
        return [Number((JSON.parse(readFileSync(path.join(dir, name), "utf8")) as { pid: number }).pid)];
      } catch {
        return [];
      }
    });
}

async function until(condition: () => boolean | Promise<boolean>, what: string, withinMs = 90_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const fallbackLines = (stderr: string): number =>
  jsonLines(stderr).filter((l) => String(l.msg).startsWith("resident engine unavailable")).length;

describe("the resident engine (keep_alive)", { timeout: 300_000 }, () => {
  it("keeps the model loaded for the next process: its metrics show load_ms 0 and a cached prefix; builder ps lists it and builder stop ends it", async () => {
    const { workspace, env, dir } = setup();
    const first = await run(workspace, env);
    expect(first.code, first.stderr).toBe(0);
    expect(metricsOf(first)).toMatchObject({ success: true, engine: "resident" });
    expect(Number(metricsOf(first).load_ms)).toBeGreaterThan(0);

    const second = await run(workspace, env);
    expect(second.code, second.stderr).toBe(0);
    const metrics = metricsOf(second);
    expect(metrics).toMatchObject({ success: true, engine: "resident", load_ms: 0 });
    expect(Number(metrics.cached_prefix_tokens)).toBeGreaterThan(100);
    expect(fallbackLines(first.stderr + second.stderr)).toBe(0);

    const [pid] = enginePids(dir);
    const ps = await runCli(["ps", "--json"], { env });
    expect(ps.code, ps.stderr).toBe(0);
    const listing = JSON.parse(ps.stdout) as {
      engines: Array<{
        pid: number;
        model: string;
        rss_bytes: number;
        expires_at: string | null;
        prefix_cache_bytes: number;
      }>;
      prefix_cache: { dir: string; bytes: number; entries: number; by_model: Record<string, number> };
    };
    const listed = listing.engines;
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ pid, model });
    expect(listed[0]?.rss_bytes).toBeGreaterThan(0);
    expect(Date.parse(listed[0]?.expires_at ?? "")).toBeGreaterThan(Date.now());
    // The prefix state the first run saved: its size on disk, in total and for this engine's model.
    const states = readdirSync(listing.prefix_cache.dir).filter((f) => f.endsWith(".state"));
    const stateBytes = states.reduce((sum, f) => sum + statSync(path.join(listing.prefix_cache.dir, f)).size, 0);
    expect(listing.prefix_cache).toMatchObject({ entries: states.length, bytes: stateBytes });
    expect(stateBytes).toBeGreaterThan(0);
    expect(listed[0]?.prefix_cache_bytes).toBe(stateBytes);
    const table = await runCli(["ps"], { env });
    expect(table.stdout).toContain(model);
    expect(table.stdout).toContain(`prefix cache: `);
    expect(table.stdout).toContain(`in ${states.length} state file(s)`);

    const stop = await runCli(["stop", path.basename(model)], { env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`pid ${pid}`);
    expect(processAlive(pid ?? 0)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith(".sock"))).toEqual([]);
    expect(JSON.parse((await runCli(["ps", "--json"], { env })).stdout)).toMatchObject({ engines: [] });
  });

  it("serves concurrent runs from one engine", async () => {
    const { workspace, env, dir } = setup();
    const [a, b] = await Promise.all([run(workspace, env), run(workspace, env)]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(metricsOf(a)).toMatchObject({ engine: "resident", success: true });
    expect(metricsOf(b)).toMatchObject({ engine: "resident", success: true });
    expect(fallbackLines(a.stderr + b.stderr)).toBe(0);
    expect(enginePids(dir)).toHaveLength(1);
    const lines = readFileSync(path.join(workspace, ".builder", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(lines).toHaveLength(2);
  });

  it("replaces the stale socket and info files a killed engine left behind", async () => {
    const { workspace, env, dir } = setup();
    expect((await run(workspace, env)).code).toBe(0);
    const [pid] = enginePids(dir);
    process.kill(pid ?? 0, "SIGKILL");
    await until(() => !processAlive(pid ?? 0), "the engine to die");
    expect(readdirSync(dir).some((f) => f.endsWith(".sock"))).toBe(true);
    const again = await run(workspace, env);
    expect(again.code, again.stderr).toBe(0);
    expect(metricsOf(again)).toMatchObject({ engine: "resident", success: true });
    expect(fallbackLines(again.stderr)).toBe(0);
    const [newPid] = enginePids(dir);
    expect(newPid).not.toBe(pid);
  });

  it("finishes in-process, saying so once, when the engine is killed mid-run; the run is recorded once", async () => {
    const { workspace, env, dir } = setup();
    // Start the engine first, so that the run below is busy generating when the engine dies.
    expect((await run(workspace, env)).code).toBe(0);
    const [pid] = enginePids(dir);
    let live = "";
    const running = runCli(["run", "--stream"], {
      cwd: workspace,
      stdin: JSON.stringify(SAMPLE_TASK),
      env,
      onStderr: (chunk) => (live += chunk),
    });
    let finished: CliResult | undefined;
    void running.then((r) => (finished = r));
    // Killed once the engine has streamed answer text (a line on stderr that is not a log line).
    await until(() => {
      if (finished) throw new Error(`the run ended before the engine streamed text: ${finished.stderr}`);
      return live.split("\n").some((line, i, all) => i < all.length - 1 && line !== "" && !line.startsWith("{"));
    }, "the engine to stream answer text");
    process.kill(pid ?? 0, "SIGKILL");
    const result = await running;
    expect(result.code, result.stderr).toBe(0);
    expect(fallbackLines(result.stderr)).toBe(1);
    expect(metricsOf(result)).toMatchObject({ engine: "in-process" });
    // The streamed text: what the engine sent before it died, one marker line, then the whole in-process answer.
    const lines = result.stderr.split("\n");
    const markers = lines.filter((l) => l.includes("the answer restarts in-process"));
    expect(markers, result.stderr).toHaveLength(1);
    expect(markers[0]).toMatch(
      /^--- the resident engine stopped .*the text above is discarded, the whole answer follows ---$/,
    );
    const at = lines.indexOf(markers[0] ?? "");
    const streamed = (part: string[]): string => part.filter((l) => !l.startsWith("{")).join("\n");
    expect(streamed(lines.slice(0, at)).length).toBeGreaterThan(0);
    expect(streamed(lines.slice(at + 1)).length).toBeGreaterThan(0);
    const recorded = readFileSync(path.join(workspace, ".builder", "metrics.jsonl"), "utf8")
      .trim()
      .split("\n");
    expect(recorded).toHaveLength(2);
  }, 300_000);

  it("treats an engine that stops answering as hung and runs in-process, saying so once", async () => {
    const { workspace, env, dir } = setup();
    expect((await run(workspace, env)).code).toBe(0);
    const [pid] = enginePids(dir);
    process.kill(pid ?? 0, "SIGSTOP");
    try {
      const result = await run(workspace, { ...env, BUILDER_ENGINE_TIMEOUT_MS: "2000" });
      expect(result.code, result.stderr).toBe(0);
      expect(fallbackLines(result.stderr)).toBe(1);
      expect(result.stderr).toContain("hung");
      expect(metricsOf(result)).toMatchObject({ engine: "in-process", success: true });
    } finally {
      process.kill(pid ?? 0, "SIGCONT");
    }
  });

  it("exits by itself when keep_alive expires, removing its socket", async () => {
    const { workspace, env, dir } = setup("1s");
    expect((await run(workspace, env)).code).toBe(0);
    const [pid] = enginePids(dir);
    expect(pid).toBeGreaterThan(0);
    await until(() => !processAlive(pid ?? 0), "the engine to exit at keep_alive expiry");
    await until(() => readdirSync(dir).every((f) => !f.endsWith(".sock") && !f.endsWith(".json")), "its files to go");
  });

  it("ignores and replaces a corrupt prefix state file", async () => {
    const { workspace, env } = setup("0");
    const cache = String(env.XDG_CACHE_HOME);
    expect((await run(workspace, env)).code).toBe(0);
    const dir = path.join(cache, "builder", "prefix-cache");
    const state = readdirSync(dir).find((f) => f.endsWith(".state")) ?? "";
    writeFileSync(path.join(dir, state), "garbage");
    const second = await run(workspace, env);
    expect(second.code, second.stderr).toBe(0);
    expect(metricsOf(second)).toMatchObject({ engine: "in-process", cached_prefix_tokens: 0 });
    expect(second.stderr).toContain("prefix cache entry ignored and replaced");
    const third = await run(workspace, env);
    expect(Number(metricsOf(third).cached_prefix_tokens)).toBeGreaterThan(100);
  });
});
