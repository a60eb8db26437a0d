import { createHash } from "node:crypto";
import { copyFileSync, cpSync, readdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ContextOverflowError, EngineFaultError, exitCodeFor } from "../../errors/errors.js";
import { createLogger, getLogger, setLogger } from "../../telemetry/logger.js";
import { synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";
import type { ChatMessage } from "../types.js";
import { EmbeddedEngine, type EmbeddedEngineOptions } from "./engine.js";
import { retryOnCleanSequence } from "./engine-faults.js";
import type { SequencePool } from "./sequence-pool.js";
import { checkStateFile } from "./state-file-check.js";

/** A system message just long enough to be cached (≥ 64 tokens), and two tasks that share no prefix. */
const KNOWLEDGE = "Project knowledge: strict TypeScript, no any, validate input with zod.\n".repeat(3);
const TASK: ChatMessage[] = [
  { role: "system", content: KNOWLEDGE },
  { role: "user", content: "Add a phone field to the contact." },
];
const OTHER_TASK: ChatMessage[] = [
  { role: "system", content: "Another project entirely: Go, no generics.\n".repeat(3) },
  { role: "user", content: "Rename the handler." },
];

let model: string;
const engines: EmbeddedEngine[] = [];
const logged: string[] = [];
const previousLogger = getLogger();

beforeAll(async () => {
  model = await synthesizeTestModel();
  setLogger(
    createLogger({
      level: "warn",
      destination: new Writable({ write: (chunk: Buffer, _e, done) => (logged.push(chunk.toString()), done()) }),
    }),
  );
});
afterEach(async () => {
  while (engines.length > 0) await engines.pop()?.dispose();
  logged.length = 0;
});
afterAll(() => setLogger(previousLogger));

async function load(extra: Partial<EmbeddedEngineOptions> = {}): Promise<EmbeddedEngine> {
  const engine = await EmbeddedEngine.load({
    model,
    modelCacheDir: path.join(tempDir(), "models"),
    gpu: false,
    options: { num_thread: 1, num_ctx: 1024 },
    ...extra,
  });
  engines.push(engine);
  return engine;
}

function answer(engine: EmbeddedEngine, messages = TASK): ReturnType<EmbeddedEngine["generate"]> {
  return engine.generate(messages, { sampling: { maxTokens: 8, temperature: 0 } });
}

/** The three runs that must follow every fault, each a complete answer (the two tasks in turn). */
async function threeMoreRunsSucceed(engine: EmbeddedEngine): Promise<void> {
  for (const messages of [TASK, OTHER_TASK, TASK]) {
    const result = await answer(engine, messages);
    expect(result.stopReason).not.toBe("abort");
    expect(result.metrics.generatedTokens).toBeGreaterThan(0);
  }
}

/** An engine's sequences (private: the test reaches in to poison one the way a failed restore does). */
function sequencesOf(engine: EmbeddedEngine): readonly LlamaContextSequence[] {
  return (engine as unknown as { pool: SequencePool }).pool.sequences;
}

/** A prefix cache folder holding one entry: its state file and its key file. */
interface Entry {
  dir: string;
  state: string;
  meta: string;
}

/** Saves `TASK`'s prefix with an engine of `sequences` sequences into a new folder; returns the entry. */
async function savedEntry(sequences: number): Promise<Entry> {
  const dir = tempDir("builder-prefix-");
  const engine = await load({ sequences, prefixCache: { dir, maxBytes: 1 << 30 } });
  expect((await answer(engine)).metrics.cachedPrefixTokens).toBe(0);
  await engine.dispose();
  engines.splice(engines.indexOf(engine), 1);
  const name = readdirSync(dir).find((f) => f.endsWith(".state")) ?? "";
  expect(name).not.toBe("");
  return { dir, state: path.join(dir, name), meta: path.join(dir, name.replace(/\.state$/, ".json")) };
}

/** A copy of `entry` in a folder of its own (each test damages its copy). */
function copyOf(entry: Entry): Entry {
  const dir = tempDir("builder-prefix-");
  cpSync(entry.dir, dir, { recursive: true });
  return { dir, state: path.join(dir, path.basename(entry.state)), meta: path.join(dir, path.basename(entry.meta)) };
}

/** The entries a one-sequence engine (in-process) and a two-sequence engine (resident) save for `TASK`. */
const saved = {} as { one: Entry; two: Entry };

/** Rewrites an entry's key file so that its size and checksum match the (damaged) state file again. */
function rewriteMetaToMatch(meta: string, state: string, identity?: Record<string, unknown>): void {
  const json = JSON.parse(readFileSync(meta, "utf8")) as Record<string, unknown>;
  const bytes = readFileSync(state);
  json.state_bytes = bytes.length;
  json.state_sha256 = createHash("sha256").update(bytes).digest("hex");
  if (identity) json.identity = identity;
  writeFileSync(meta, JSON.stringify(json));
}

const warnings = (pattern: RegExp): string[] => logged.filter((line) => pattern.test(line));

describe("engine faults end with their request (real llama.cpp)", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    saved.one = await savedEntry(1);
    saved.two = await savedEntry(2);
  }, 120_000);

  it("recovers a sequence left with stale cells by a failed restore (llama.cpp: n_stream mismatch), and the next three runs succeed", async () => {
    const twoSequences = copyOf(saved.two);
    const engine = await load({ sequences: 1 });
    await answer(engine, OTHER_TASK);
    const [sequence] = sequencesOf(engine);
    // What a restore of a state saved under another layout did: llama.cpp refuses it after node-llama-cpp
    // forgot the sequence's tokens, so its cells stay and the next prompt's decode fails.
    await expect(sequence?.loadStateFromFile(twoSequences.state, { acceptRisk: true })).rejects.toThrow();
    expect(sequence?.contextTokens).toHaveLength(0);
    const recovered = await answer(engine);
    expect(recovered.metrics.generatedTokens).toBeGreaterThan(0);
    expect(warnings(/sequence was reset and the request runs again/)).toHaveLength(1);
    await threeMoreRunsSucceed(engine);
  });

  it("never hands llama.cpp a state saved under another sequence layout, even with its key file rewritten to match", async () => {
    const oneSequence = copyOf(saved.one);
    const twoSequences = copyOf(saved.two);
    // The one-sequence state planted under the two-sequence engine's key, its key file made to match.
    copyFileSync(oneSequence.state, twoSequences.state);
    rewriteMetaToMatch(twoSequences.meta, twoSequences.state);
    expect(await stateProblem(twoSequences.state)).toMatch(/saved with 1 sequence stream\(s\), this engine has 2/);
    const engine = await load({ sequences: 2, prefixCache: { dir: twoSequences.dir, maxBytes: 1 << 30 } });
    // Both sequences hold another task, as in the resident engine where this failed.
    await Promise.all([answer(engine, OTHER_TASK), answer(engine, OTHER_TASK)]);
    // Not restored (only the chat template's opening, which both tasks share, is reused from memory).
    expect((await answer(engine)).metrics.cachedPrefixTokens).toBeLessThan(64);
    expect(warnings(/prefix cache entry ignored and replaced/)).toHaveLength(1);
    await threeMoreRunsSucceed(engine);
  });

  it("refuses a truncated or garbage state file whose key file was rewritten to match, before llama.cpp reads it (it would abort the process)", async () => {
    const entry = copyOf(saved.one);
    const intact = readFileSync(entry.state);
    expect(await stateProblem(entry.state)).toBeUndefined();
    truncateSync(entry.state, intact.length - 1000);
    rewriteMetaToMatch(entry.meta, entry.state);
    expect(await stateProblem(entry.state)).toMatch(/^truncated/);
    writeFileSync(path.join(entry.dir, "garbage.state"), Buffer.alloc(intact.length, 7));
    expect(await stateProblem(path.join(entry.dir, "garbage.state"))).toMatch(/not a llama.cpp sequence state/);
    const engine = await load({ sequences: 1, prefixCache: { dir: entry.dir, maxBytes: 1 << 30 } });
    expect((await answer(engine)).metrics.cachedPrefixTokens).toBe(0);
    expect(warnings(/state file layout: truncated/)).toHaveLength(1);
    // The entry was replaced by an intact one, which the next engine restores.
    expect(await stateProblem(entry.state)).toBeUndefined();
    const next = await load({ sequences: 1, prefixCache: { dir: entry.dir, maxBytes: 1 << 30 } });
    expect((await answer(next)).metrics.cachedPrefixTokens).toBeGreaterThan(64);
    await threeMoreRunsSucceed(engine);
  });

  it("survives a generation that fills the whole window, and the next three runs succeed", async () => {
    const engine = await load({ sequences: 1, options: { num_thread: 1, num_ctx: 512 } });
    const full = await engine.generate(OTHER_TASK, { sampling: { maxTokens: 700, temperature: 0 } });
    expect(full.metrics.promptTokens + full.metrics.generatedTokens).toBeGreaterThan(engine.contextSize);
    await threeMoreRunsSucceed(engine);
  });

  it.each([
    ["a file in its place", (): string => fileInPlace()],
    ["a folder it cannot create (read-only for everyone, root too)", (): string => "/sys/builder-prefix-cache"],
  ])("goes on uncached when the prefix-cache folder is %s, saying so once", async (_what, folder) => {
    const engine = await load({ sequences: 1, prefixCache: { dir: folder(), maxBytes: 1 << 30 } });
    expect((await answer(engine)).metrics.cachedPrefixTokens).toBe(0);
    await threeMoreRunsSucceed(engine);
    expect(warnings(/prefix cache off: the folder cannot be used/)).toHaveLength(1);
  });
});

function fileInPlace(): string {
  const file = path.join(tempDir(), "prefix-cache");
  writeFileSync(file, "not a folder");
  return file;
}

function stateProblem(file: string): Promise<string | undefined> {
  return checkStateFile(file, { tokens: tokensOf(file), streams: file.includes("garbage") ? 1 : streamsOf(file) });
}

/** The tokens a state file says it holds (the check compares them with the prefix; here with themselves). */
function tokensOf(file: string): Token[] {
  const bytes = readFileSync(file);
  if (bytes.length < 12) return [];
  const count = Math.min(bytes.readUInt32LE(8), Math.floor((bytes.length - 12) / 4));
  return Array.from({ length: count }, (_, i) => bytes.readUInt32LE(12 + i * 4) as Token);
}

/** The stream count the entry's key file promises (the engine that wrote it). */
function streamsOf(state: string): number {
  const meta = JSON.parse(readFileSync(state.replace(/\.state$/, ".json"), "utf8")) as {
    identity: { sequences?: number };
  };
  return meta.identity.sequences ?? 1;
}

describe("retryOnCleanSequence (the control flow: scripted attempts)", () => {
  /** Attempts that fail with the given llama.cpp messages, then answer; sequences are numbers, a reset adds one. */
  function scripted(failures: string[]): {
    attempt: (s: number) => Promise<string>;
    reset: (s: number) => Promise<number>;
    resets: number[];
  } {
    const resets: number[] = [];
    return {
      resets,
      attempt: (s) => {
        const failure = failures.shift();
        return failure === undefined ? Promise.resolve(`ok on sequence ${s}`) : Promise.reject(new Error(failure));
      },
      reset: (s) => {
        resets.push(s);
        return Promise.resolve(s + 1);
      },
    };
  }

  it("resets the sequence and runs once more on the clean one", async () => {
    const run = scripted(["Eval has failed"]);
    await expect(retryOnCleanSequence(0, run.attempt, run.reset)).resolves.toBe("ok on sequence 1");
    expect(run.resets).toEqual([0]);
  });

  it("fails with ENGINE_FAULT (exit 9), carrying llama.cpp's message, after resetting again", async () => {
    const run = scripted(["Eval has failed", "Eval has failed again"]);
    const error = await retryOnCleanSequence(0, run.attempt, run.reset).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EngineFaultError);
    expect((error as EngineFaultError).code).toBe("ENGINE_FAULT");
    expect((error as EngineFaultError).message).toMatch(/Eval has failed again.*next request starts clean/);
    expect(exitCodeFor(error)).toBe(9);
    expect(run.resets).toEqual([0, 1]);
  });

  it("does not run again once part of the answer went out, and lets Builder's own errors through untouched", async () => {
    const streamed = scripted(["Eval has failed"]);
    await expect(retryOnCleanSequence(0, streamed.attempt, streamed.reset, () => false)).rejects.toThrow(
      EngineFaultError,
    );
    expect(streamed.resets).toEqual([0]);
    const overflow = new ContextOverflowError("too long");
    const reset = (s: number): Promise<number> => Promise.resolve(s + 1);
    await expect(retryOnCleanSequence(0, () => Promise.reject(overflow), reset)).rejects.toBe(overflow);
  });
});
