import { readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";
import type { ChatMessage } from "../types.js";
import { EmbeddedEngine, type EmbeddedEngineOptions } from "./engine.js";

/** A system message long enough to be cached, and a task that asks to copy it (prompt lookup has something to find). */
const KNOWLEDGE = Array.from(
  { length: 12 },
  (_, i) => `export function rule${i}(value: number): number { return value * ${i}; }`,
).join("\n");
const MESSAGES: ChatMessage[] = [
  { role: "system", content: `Project knowledge:\n${KNOWLEDGE}` },
  { role: "user", content: `Copy this file:\n${KNOWLEDGE.slice(0, 400)}` },
];

const engines: EmbeddedEngine[] = [];
afterAll(async () => {
  for (const engine of engines) await engine.dispose();
});

async function load(model: string, extra: Partial<EmbeddedEngineOptions>): Promise<EmbeddedEngine> {
  const engine = await EmbeddedEngine.load({
    model,
    modelCacheDir: path.join(tempDir(), "models"),
    gpu: false,
    options: { num_thread: 1, num_ctx: 4096 },
    ...extra,
  });
  engines.push(engine);
  return engine;
}

async function answer(
  engine: EmbeddedEngine,
  maxTokens = 48,
): Promise<Awaited<ReturnType<EmbeddedEngine["generate"]>>> {
  return engine.generate(MESSAGES, { sampling: { maxTokens } });
}

describe("warm embedded engine", () => {
  it("gives byte-identical greedy output with prompt-lookup speculative decoding on and off, and counts the drafts", async () => {
    const model = await synthesizeTestModel();
    const off = await answer(await load(model, { speculative: false }), 96);
    const on = await answer(await load(model, { speculative: true }), 96);
    expect(on.text).toBe(off.text);
    expect(off.metrics.draftTokens).toBeUndefined();
    const drafts = on.metrics.draftTokens;
    expect(drafts).toBeDefined();
    expect((drafts?.validated ?? 0) + (drafts?.refuted ?? 0)).toBeGreaterThan(0);
  });

  it("restores the stable prefix from the on-disk cache in a new engine, with the same output", async () => {
    const model = await synthesizeTestModel();
    const dir = tempDir("builder-prefix-");
    const cold = await load(model, { prefixCache: { dir, maxBytes: 1 << 30 } });
    const first = await answer(cold);
    expect(first.metrics.cachedPrefixTokens).toBe(0);
    expect(readdirSync(dir).filter((f) => f.endsWith(".state"))).toHaveLength(1);
    const warm = await load(model, { prefixCache: { dir, maxBytes: 1 << 30 } });
    const second = await answer(warm);
    expect(second.metrics.cachedPrefixTokens).toBeGreaterThan(200);
    expect(second.text).toBe(first.text);
  });

  it("ignores and replaces a corrupt state file instead of loading it", async () => {
    const model = await synthesizeTestModel();
    const dir = tempDir("builder-prefix-");
    const first = await answer(await load(model, { prefixCache: { dir, maxBytes: 1 << 30 } }));
    const state = readdirSync(dir).find((f) => f.endsWith(".state"));
    expect(state).toBeDefined();
    writeFileSync(path.join(dir, state ?? ""), "not a llama.cpp state");
    const second = await answer(await load(model, { prefixCache: { dir, maxBytes: 1 << 30 } }));
    expect(second.metrics.cachedPrefixTokens).toBe(0);
    expect(second.text).toBe(first.text);
    // Replaced: the next engine restores the new file.
    const third = await answer(await load(model, { prefixCache: { dir, maxBytes: 1 << 30 } }));
    expect(third.metrics.cachedPrefixTokens).toBeGreaterThan(200);
  });

  it("never loads a state saved for another model file", async () => {
    const dir = tempDir("builder-prefix-");
    await answer(await load(await synthesizeTestModel({ seed: 1 }), { prefixCache: { dir, maxBytes: 1 << 30 } }));
    const other = await answer(
      await load(await synthesizeTestModel({ seed: 2 }), { prefixCache: { dir, maxBytes: 1 << 30 } }),
    );
    expect(other.metrics.cachedPrefixTokens).toBe(0);
  });
});
