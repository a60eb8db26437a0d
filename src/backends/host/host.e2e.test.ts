import { spawn } from "node:child_process";
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isSameProcess, processAlive } from "../../system/process-identity.js";
import { jsonLines, runCli, type CliResult } from "../../test-support/cli.js";
import { SAMPLE_TASK, sampleWorkspace, synthesizeTestModel, tempDir, writeFiles } from "../../test-support/fixtures.js";
import { startServe } from "../../test-support/serve.js";

/** A knowledge base long enough to be worth caching (the stable prefix). */
const KNOWLEDGE =
  "# Project\n" +
  "Strict TypeScript. No any. PostgreSQL first, then Elasticsearch. Validate input with zod.\n".repeat(10);

let model: string;
const hostDirs: string[] = [];

beforeAll(async () => {
  model = await synthesizeTestModel();
});

/** Every host a test started is stopped, even when the test failed before stopping it. */
afterAll(async () => {
  for (const dir of hostDirs) {
    await runCli(["stop"], { env: { BUILDER_ENGINE_DIR: dir } });
    const record = hostRecord(dir);
    if (record && isSameProcess(record, "__builder-host")) process.kill(record.pid, "SIGKILL");
  }
});

interface Setup {
  workspace: string;
  env: NodeJS.ProcessEnv;
  dir: string;
}

/**
 * A workspace, a cache and a host folder of its own (never the user's runtime folder). The answer is
 * bounded at 448 tokens, about the least a two-file bounded answer allows: the random model fills it.
 */
function setup(keepAlive = "60s", numCtx = 4096): Setup {
  const workspace = sampleWorkspace(model, { num_ctx: numCtx, num_predict: 448 });
  writeFiles(workspace, { "knowledge/project-context.md": KNOWLEDGE });
  const cache = tempDir("builder-cache-");
  const dir = tempDir("bh-");
  hostDirs.push(dir);
  return {
    workspace,
    dir,
    env: { XDG_CACHE_HOME: cache, HOME: cache, BUILDER_ENGINE_DIR: dir, BUILDER_KEEP_ALIVE: keepAlive },
  };
}

let faultHost: Setup | undefined;

/**
 * The workspace and host folder that the fault tests share, with a host running: each of them needs one
 * and leaves one running (its last runs start a new one after the fault), and starting one (a process, a
 * model load, a first run) is much of a short test's time. A test run alone, or after one that left no
 * host, starts it here.
 */
async function runningHost(): Promise<Setup & { pid: number }> {
  faultHost ??= setup();
  const record = hostRecord(faultHost.dir);
  if (!record || !isSameProcess(record, "__builder-host")) {
    const first = await run(faultHost.workspace, faultHost.env);
    expect(first.code, first.stderr).toBe(0);
  }
  return { ...faultHost, pid: hostPid(faultHost.dir) };
}

function run(workspace: string, env: NodeJS.ProcessEnv, args: string[] = []): Promise<CliResult> {
  return runCli(["run", ...args], { cwd: workspace, stdin: JSON.stringify(SAMPLE_TASK), env });
}

function metricsOf(result: CliResult): Record<string, unknown> {
  const line = jsonLines(result.stderr).find((l) => l.msg === "run metrics");
  expect(line, result.stderr).toBeDefined();
  return line ?? {};
}

function hostRecord(dir: string): { pid: number; startTime?: string; kind: string } | undefined {
  try {
    return JSON.parse(readFileSync(path.join(dir, "host.json"), "utf8")) as { pid: number; kind: string };
  } catch {
    return undefined;
  }
}

function hostPid(dir: string): number {
  return hostRecord(dir)?.pid ?? 0;
}

async function until(condition: () => boolean | Promise<boolean>, what: string, withinMs = 90_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const fallbackLines = (stderr: string): number =>
  jsonLines(stderr).filter((l) => String(l.msg).startsWith("Builder host unavailable")).length;

const recordedRuns = (workspace: string): number =>
  readFileSync(path.join(workspace, ".builder", "metrics.jsonl"), "utf8")
    .trim()
    .split("\n").length;

/** After a fault: three more runs, each of which must succeed on the (restarted) host. */
async function threeMoreRuns({ workspace, env, dir }: Setup): Promise<void> {
  const pids = new Set<number>();
  for (let i = 0; i < 3; i++) {
    const again = await run(workspace, env);
    expect(again.code, again.stderr).toBe(0);
    expect(metricsOf(again)).toMatchObject({ success: true, engine: "host" });
    expect(fallbackLines(again.stderr)).toBe(0);
    pids.add(hostPid(dir));
  }
  expect(pids.size, "one host served the three runs").toBe(1);
}

/** `builder ps --json`. */
async function ps(env: NodeJS.ProcessEnv): Promise<{
  host: { pid: number; kind: string; url: string | null } | null;
  models: Array<{ model_path: string; pid: number; context_length: number; size: number; expires_at: string }>;
  prefix_cache: { dir: string; bytes: number; entries: number; by_model: Record<string, number> };
}> {
  const listed = await runCli(["ps", "--json"], { env });
  expect(listed.code, listed.stderr).toBe(0);
  return JSON.parse(listed.stdout) as Awaited<ReturnType<typeof ps>>;
}

/** Starts `builder run --stream` and resolves once the host has streamed answer text (a stderr line that is not a log line). */
async function runUntilStreaming(setupValue: Setup): Promise<{ running: Promise<CliResult> }> {
  let live = "";
  let finished: CliResult | undefined;
  const running = runCli(["run", "--stream"], {
    cwd: setupValue.workspace,
    stdin: JSON.stringify(SAMPLE_TASK),
    env: setupValue.env,
    onStderr: (chunk) => (live += chunk),
  });
  void running.then((r) => (finished = r));
  await until(() => {
    if (finished) throw new Error(`the run ended before the host streamed text: ${finished.stderr}`);
    return live.split("\n").some((line, i, all) => i < all.length - 1 && line !== "" && !line.startsWith("{"));
  }, "the host to stream answer text");
  // Wrapped: an async function returning the promise itself would wait for it.
  return { running };
}

describe("the Builder host", { timeout: 400_000 }, () => {
  it("keeps the model loaded for the next command: load_ms 0 and a cached prefix; builder ps lists it once; builder stop ends it", async () => {
    const { workspace, env, dir } = setup();
    const first = await run(workspace, env);
    expect(first.code, first.stderr).toBe(0);
    expect(metricsOf(first)).toMatchObject({ success: true, engine: "host" });
    expect(Number(metricsOf(first).load_ms)).toBeGreaterThan(0);
    const second = await run(workspace, env, ["--report"]);
    expect(second.code, second.stderr).toBe(0);
    const metrics = metricsOf(second);
    expect(metrics).toMatchObject({ success: true, engine: "host", load_ms: 0 });
    expect(Number(metrics.cached_prefix_tokens)).toBeGreaterThan(100);
    expect(fallbackLines(first.stderr + second.stderr)).toBe(0);
    const pid = hostPid(dir);
    // The report names the process that holds the model.
    expect(second.stderr).toMatch(new RegExp(`model memory\\s+[\\d.]+ MiB \\(held by the Builder host, pid ${pid}\\)`));
    const listing = await ps(env);
    expect(listing.host).toMatchObject({ pid, kind: "background" });
    expect(listing.models).toHaveLength(1);
    expect(listing.models[0]).toMatchObject({ model_path: model, pid, context_length: 4096 });
    expect(listing.models[0]?.size).toBeGreaterThan(0);
    expect(Date.parse(listing.models[0]?.expires_at ?? "")).toBeGreaterThan(Date.now());
    const states = readdirSync(listing.prefix_cache.dir).filter((f) => f.endsWith(".state"));
    const stateBytes = states.reduce((sum, f) => sum + statSync(path.join(listing.prefix_cache.dir, f)).size, 0);
    expect(listing.prefix_cache).toMatchObject({ entries: states.length, bytes: stateBytes });
    const table = await runCli(["ps"], { env });
    expect(table.stdout).toContain(model);
    expect(table.stdout).toContain(`host: pid ${pid} (background`);
    const stop = await runCli(["stop", path.basename(model)], { env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`pid ${pid}`);
    expect(processAlive(pid)).toBe(false);
    expect(existsSync(path.join(dir, "host.sock"))).toBe(false);
    expect(await ps(env)).toMatchObject({ host: null, models: [] });
  });

  it("serves two runs with different num_ctx and a builder serve client from one process holding one copy", async () => {
    const { workspace, env, dir } = setup("60s", 4096);
    const server = await startServe(model, ["--keep-alive", "60s"], env);
    try {
      const small = await run(workspace, env);
      const large = await run(workspace, env, ["--num-ctx", "8192"]);
      for (const result of [small, large]) {
        expect(result.code, result.stderr).toBe(0);
        expect(metricsOf(result)).toMatchObject({ success: true, engine: "host" });
      }
      const chat = (await (
        await fetch(`${server.url}/api/chat`, {
          method: "POST",
          body: JSON.stringify({
            model: server.model,
            messages: [{ role: "user", content: "hi" }],
            stream: false,
            options: { num_predict: 8, num_ctx: 2048 },
          }),
        })
      ).json()) as { done: boolean; timings: { predicted_n: number } };
      expect(chat).toMatchObject({ done: true, timings: { predicted_n: 8 } });
      const listing = await ps(env);
      expect(listing.host).toMatchObject({ pid: server.child.pid, kind: "serve", url: server.url });
      expect(listing.models).toHaveLength(1);
      // The 8192-token run reloaded the one copy at the larger window; the 2048-token chat ran on it.
      expect(listing.models[0]).toMatchObject({ pid: server.child.pid, context_length: 8192 });
      expect(hostPid(dir)).toBe(server.child.pid);
      // No background host was started beside builder serve (its command line names its spec file in the host folder).
      const hosts = readdirSync("/proc").filter((pid) => {
        try {
          const command = readFileSync(`/proc/${pid}/cmdline`, "utf8");
          return command.includes("__builder-host") && command.includes(dir);
        } catch {
          return false;
        }
      });
      expect(hosts).toEqual([]);
    } finally {
      await server.stop();
    }
  });

  it("finishes in-process, saying so once, when the host is killed (kill -9) mid-answer; the run is recorded once; the next command restarts the host", async () => {
    const { pid, ...s } = await runningHost();
    const recorded = recordedRuns(s.workspace);
    const { running } = await runUntilStreaming(s);
    process.kill(pid, "SIGKILL");
    const result = await running;
    expect(result.code, result.stderr).toBe(0);
    expect(fallbackLines(result.stderr), result.stderr).toBe(1);
    expect(metricsOf(result)).toMatchObject({ engine: "in-process", success: true });
    const lines = result.stderr.split("\n");
    const markers = lines.filter((l) => l.includes("the answer restarts in-process"));
    expect(markers, result.stderr).toHaveLength(1);
    expect(markers[0]).toMatch(
      /^--- the Builder host stopped .*the text above is discarded, the whole answer follows ---$/,
    );
    const at = lines.indexOf(markers[0] ?? "");
    const streamed = (part: string[]): string => part.filter((l) => !l.startsWith("{")).join("\n");
    expect(streamed(lines.slice(0, at)).length).toBeGreaterThan(0);
    expect(streamed(lines.slice(at + 1)).length).toBeGreaterThan(0);
    expect(recordedRuns(s.workspace)).toBe(recorded + 1);
    await threeMoreRuns(s);
    expect(hostPid(s.dir)).not.toBe(pid);
  });

  it("lets a run stopped mid-answer by builder stop finish, recorded once; three runs after it succeed", async () => {
    const { pid, ...s } = await runningHost();
    const recorded = recordedRuns(s.workspace);
    const { running } = await runUntilStreaming(s);
    const stop = await runCli(["stop"], { env: s.env });
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toContain(`stopped the Builder host (pid ${pid})`);
    const result = await running;
    expect(result.code, result.stderr).toBe(0);
    expect(metricsOf(result)).toMatchObject({ success: true });
    expect(recordedRuns(s.workspace)).toBe(recorded + 1);
    await threeMoreRuns(s);
  });

  it("serves four concurrent runs from one host, none in-process", async () => {
    const s = setup();
    const results = await Promise.all([1, 2, 3, 4].map(() => run(s.workspace, s.env)));
    for (const result of results) {
      expect(result.code, result.stderr).toBe(0);
      expect(metricsOf(result)).toMatchObject({ engine: "host", success: true });
      expect(fallbackLines(result.stderr)).toBe(0);
    }
    const listing = await ps(s.env);
    expect(listing.models).toHaveLength(1);
    expect(listing.host?.pid).toBe(hostPid(s.dir));
    expect(recordedRuns(s.workspace)).toBe(4);
    await threeMoreRuns(s);
  });

  it("replaces a stale socket and record; leftovers whose pid belongs to an unrelated live process are left alone by builder stop", async () => {
    const { pid, ...s } = await runningHost();
    process.kill(pid, "SIGKILL");
    await until(() => !processAlive(pid), "the host to die");
    expect(existsSync(path.join(s.dir, "host.sock"))).toBe(true);
    // The dead host's pid now names an unrelated live process (a pid reused): same pid file, another process.
    const unrelated = spawn("sleep", ["120"], { stdio: "ignore" });
    try {
      const stale = JSON.parse(readFileSync(path.join(s.dir, "host.json"), "utf8")) as Record<string, unknown>;
      writeFileSync(path.join(s.dir, "host.json"), JSON.stringify({ ...stale, pid: unrelated.pid }));
      const stop = await runCli(["stop"], { env: s.env });
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stderr).toContain("no Builder host is running");
      expect(stop.stderr).toContain(`pid ${unrelated.pid} now belongs to another process (left alone)`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(unrelated.exitCode).toBeNull();
      expect(processAlive(unrelated.pid ?? 0)).toBe(true);
      // Leftovers again (socket and record of the unrelated pid): the next run starts a host at once.
      writeFileSync(path.join(s.dir, "host.json"), JSON.stringify({ ...stale, pid: unrelated.pid }));
      const started = Date.now();
      const again = await run(s.workspace, s.env);
      expect(again.code, again.stderr).toBe(0);
      expect(metricsOf(again)).toMatchObject({ engine: "host", success: true });
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(hostPid(s.dir)).not.toBe(unrelated.pid);
      expect(unrelated.exitCode).toBeNull();
      await threeMoreRuns(s);
    } finally {
      unrelated.kill("SIGKILL");
    }
  });

  it("treats a host that stops answering as hung and runs in-process, saying so once", async () => {
    // The last of the tests on the shared host: the host it stops is not used after it.
    const { pid, ...s } = await runningHost();
    process.kill(pid, "SIGSTOP");
    try {
      const result = await run(s.workspace, { ...s.env, BUILDER_ENGINE_TIMEOUT_MS: "2000" });
      expect(result.code, result.stderr).toBe(0);
      expect(fallbackLines(result.stderr)).toBe(1);
      expect(result.stderr).toContain("hung");
      expect(metricsOf(result)).toMatchObject({ engine: "in-process", success: true });
    } finally {
      process.kill(pid, "SIGCONT");
    }
  });

  it("exits by itself once keep_alive expires, removing its socket and record", async () => {
    const s = setup("1s");
    expect((await run(s.workspace, s.env)).code).toBe(0);
    const pid = hostPid(s.dir);
    expect(pid).toBeGreaterThan(0);
    await until(() => !processAlive(pid), "the host to exit at keep_alive expiry");
    await until(() => readdirSync(s.dir).every((f) => f !== "host.sock" && f !== "host.json"), "its files to go");
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
