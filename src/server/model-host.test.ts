import path from "node:path";
import { describe, expect, it } from "vitest";
import type { EmbeddedEngine } from "../backends/embedded/engine.js";
import { loadConfig } from "../config/load.js";
import { tempDir, writeFiles } from "../test-support/fixtures.js";
import { ModelHost, type HostedModel, type LoadSettings } from "./model-host.js";

/** What the fake loader saw: each load (model file, window) and each unload, in order, and how many copies were loaded at once at most. */
interface Trace {
  events: string[];
  loaded: number;
  peak: number;
}

/** A host whose "engines" are fakes: loading takes `loadMs`, and the window is the one asked for (default 4096). */
function fakeHost(options: { maxLoadedModels?: number; memory?: number; loadMs?: number } = {}): {
  host: ModelHost;
  trace: Trace;
  model: (name: string) => HostedModel;
} {
  const dir = tempDir("builder-host-unit-");
  const trace: Trace = { events: [], loaded: 0, peak: 0 };
  const host = new ModelHost({
    config: loadConfig({ cwd: dir, env: {} }),
    sequences: 1,
    defaultKeepAliveMs: 60_000,
    maxLoadedModels: options.maxLoadedModels,
    memoryAvailable: async () => options.memory,
    load: async (model: HostedModel, settings: LoadSettings) => {
      const contextSize = settings.numCtx ?? 4096;
      trace.events.push(`load ${path.basename(model.modelPath)} ${contextSize}`);
      await new Promise((resolve) => setTimeout(resolve, options.loadMs ?? 5));
      trace.loaded++;
      trace.peak = Math.max(trace.peak, trace.loaded);
      return {
        contextSize,
        modelPath: model.modelPath,
        dispose: async () => {
          trace.loaded--;
          trace.events.push(`unload ${path.basename(model.modelPath)} ${contextSize}`);
        },
      } as unknown as EmbeddedEngine;
    },
  });
  const model = (name: string): HostedModel => {
    writeFiles(dir, { [`${name}.gguf`]: "x".repeat(1000) });
    return host.register(path.join(dir, `${name}.gguf`), {});
  };
  return { host, trace, model };
}

describe("ModelHost (one loaded copy per model, as Ollama's scheduler)", () => {
  it("runs a request whose window fits the loaded context there: a 16K context serves an 8K request", async () => {
    const { host, trace, model } = fakeHost();
    const a = model("a");
    (await host.lease(a, { numCtx: 16384 })).release();
    const lease = await host.lease(a, { numCtx: 8192 });
    expect(lease.engine.contextSize).toBe(16384);
    expect(lease.loadMs).toBe(0);
    lease.release();
    expect(trace.events).toEqual(["load a.gguf 16384"]);
  });

  it("reloads at the larger window once the requests running on the smaller one end, never holding both", async () => {
    const { host, trace, model } = fakeHost();
    const a = model("a");
    const running = await host.lease(a, { numCtx: 4096 });
    let bigger: Awaited<ReturnType<ModelHost["lease"]>> | undefined;
    const waiting = host.lease(a, { numCtx: 8192 }).then((lease) => (bigger = lease));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(bigger, "the bigger request waits for the running one").toBeUndefined();
    running.release();
    await waiting;
    expect(bigger?.engine.contextSize).toBe(8192);
    bigger?.release();
    // A smaller request afterwards runs on the larger window: no reload back down.
    const small = await host.lease(a, { numCtx: 2048 });
    expect(small.engine.contextSize).toBe(8192);
    small.release();
    expect(trace.events).toEqual(["load a.gguf 4096", "unload a.gguf 4096", "load a.gguf 8192"]);
    expect(trace.peak).toBe(1);
  });

  it("reloads when a request names other load settings", async () => {
    const { host, trace, model } = fakeHost();
    const a = model("a");
    (await host.lease(a, { load: { numBatch: 512 } })).release();
    (await host.lease(a, {})).release();
    (await host.lease(a, { load: { numBatch: 256 } })).release();
    expect(trace.events).toEqual(["load a.gguf 4096", "unload a.gguf 4096", "load a.gguf 4096"]);
  });

  it("loads concurrent requests for one model once", async () => {
    const { host, trace, model } = fakeHost({ loadMs: 50 });
    const a = model("a");
    const leases = await Promise.all([1, 2, 3, 4].map(() => host.lease(a, { numCtx: 4096 })));
    leases.forEach((lease) => lease.release());
    expect(trace.events).toEqual(["load a.gguf 4096"]);
    expect(host.loaded).toHaveLength(1);
  });

  it("unloads the least recently used idle model when max_loaded_models is reached", async () => {
    const { host, trace, model } = fakeHost({ maxLoadedModels: 2 });
    const [a, b, c] = [model("a"), model("b"), model("c")];
    (await host.lease(a, {})).release();
    (await host.lease(b, {})).release();
    (await host.lease(a, {})).release();
    (await host.lease(c, {})).release();
    expect(trace.events).toEqual(["load a.gguf 4096", "load b.gguf 4096", "unload b.gguf 4096", "load c.gguf 4096"]);
    expect(host.loaded.map((r) => path.basename(r.model.modelPath)).sort()).toEqual(["a.gguf", "c.gguf"]);
  });

  it("waits for a busy model to finish rather than unloading it under a running request", async () => {
    const { host, trace, model } = fakeHost({ maxLoadedModels: 1 });
    const [a, b] = [model("a"), model("b")];
    const running = await host.lease(a, {});
    const other = host.lease(b, {});
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(trace.events).toEqual(["load a.gguf 4096"]);
    running.release();
    (await other).release();
    expect(trace.events).toEqual(["load a.gguf 4096", "unload a.gguf 4096", "load b.gguf 4096"]);
    expect(trace.peak).toBe(1);
  });

  it("unloads an idle model when memory cannot hold another beside it", async () => {
    // 1000-byte files need 1200 bytes with the margin; 1100 are free.
    const { host, trace, model } = fakeHost({ memory: 1100 });
    const [a, b] = [model("a"), model("b")];
    (await host.lease(a, {})).release();
    (await host.lease(b, {})).release();
    expect(trace.events).toEqual(["load a.gguf 4096", "unload a.gguf 4096", "load b.gguf 4096"]);
  });

  it("unloads a model when its keep_alive runs out, and says when nothing is left", async () => {
    let empty = 0;
    const dir = tempDir("builder-host-unit-");
    writeFiles(dir, { "a.gguf": "x" });
    const host = new ModelHost({
      config: loadConfig({ cwd: dir, env: {} }),
      sequences: 1,
      defaultKeepAliveMs: 60_000,
      onEmpty: () => empty++,
      load: async () => ({ contextSize: 4096, dispose: async () => undefined }) as unknown as EmbeddedEngine,
    });
    const a = host.register(path.join(dir, "a.gguf"), {});
    (await host.lease(a, {})).release(20);
    expect(host.loaded).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(host.loaded).toHaveLength(0);
    expect(empty).toBeGreaterThan(0);
  });

  it("names a model by its file's absolute path only when asked to (the owner-only socket)", async () => {
    const { host, model } = fakeHost();
    const a = model("a");
    expect(await host.find("a", false)).toBe(a);
    expect(await host.find(a.modelPath, true)).toBe(a);
    const other = path.join(path.dirname(a.modelPath), "other.gguf");
    writeFiles(path.dirname(other), { "other.gguf": "x" });
    expect(await host.find(other, false)).toBeUndefined();
    expect((await host.find(other, true))?.name).toBe("other:latest");
    expect(await host.find("/no/such/file.gguf", true)).toBeUndefined();
  });
});
