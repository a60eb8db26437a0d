import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ChatMLChatWrapper,
  getLlama,
  LlamaChatSession,
  LlamaLogLevel,
  readGgufFileInfo,
  type Llama,
  type LlamaContext,
  type LlamaModel,
} from "node-llama-cpp";
import { buildSyntheticGguf, writeSyntheticGguf, type SyntheticModelInfo } from "./synthetic-gguf.js";

const sha256 = (bytes: Buffer): string => createHash("sha256").update(bytes).digest("hex");

let dir: string;
let info: SyntheticModelInfo;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "builder-synthetic-gguf-"));
  info = await writeSyntheticGguf(path.join(dir, "nested", "tiny.gguf"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("buildSyntheticGguf", () => {
  it("is deterministic per seed", () => {
    const a = sha256(buildSyntheticGguf({ seed: 7 }));
    expect(sha256(buildSyntheticGguf({ seed: 7 }))).toBe(a);
    expect(sha256(buildSyntheticGguf({ seed: 8 }))).not.toBe(a);
    // The default seed is 42, and undefined options mean "default".
    expect(sha256(buildSyntheticGguf({ seed: undefined }))).toBe(sha256(buildSyntheticGguf({ seed: 42 })));
  });

  it("starts with a GGUF v3 header", () => {
    const bytes = buildSyntheticGguf();
    expect(bytes.subarray(0, 4).toString("ascii")).toBe("GGUF");
    expect(bytes.readUInt32LE(4)).toBe(3);
    expect(bytes.readBigUInt64LE(8)).toBe(3n + 2n * 9n); // 3 global tensors + 9 per block
  });

  it("rejects shapes llama.cpp cannot run", () => {
    expect(() => buildSyntheticGguf({ embeddingLength: 60, headCount: 8 })).toThrow(RangeError);
    expect(() => buildSyntheticGguf({ blockCount: 0 })).toThrow(RangeError);
  });
});

describe("writeSyntheticGguf", () => {
  it("writes the file atomically and reports it", async () => {
    const bytes = await readFile(info.path);
    expect(info.sizeBytes).toBe(bytes.length);
    expect(info.sha256).toBe(sha256(bytes));
    expect(info.sha256).toBe(sha256(buildSyntheticGguf()));
    expect(info.vocabularySize).toBe(5 + 256 + 1 + 94);
    expect(await readdir(path.dirname(info.path))).toEqual(["tiny.gguf"]); // no temp file left behind
  });

  it("is readable by node-llama-cpp's GGUF parser", async () => {
    const parsed = await readGgufFileInfo(info.path, { readTensorInfo: true });
    expect(parsed.version).toBe(3);
    expect(parsed.metadata.general.architecture).toBe("llama");
    expect(parsed.metadata.tokenizer.ggml.model).toBe("llama");
    expect(parsed.tensorInfo?.map((t) => t.name)).toContain("blk.1.ffn_up.weight");
  });
});

describe("with llama.cpp", () => {
  let llama: Llama;
  let model: LlamaModel;
  let context: LlamaContext | undefined;

  beforeAll(async () => {
    llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error });
    model = await llama.loadModel({ modelPath: info.path });
  });

  afterAll(async () => {
    await context?.dispose();
    await model?.dispose();
  });

  it("loads as a llama model", () => {
    expect(model.fileInfo.metadata.general.architecture).toBe("llama");
    expect(model.tokens.bos).toBe(1);
    expect(model.tokens.eos).toBe(4); // <|im_end|>
  });

  it("round-trips text through the tokenizer, including multi-byte characters", () => {
    const text = "const x = 1;\n// é→✓";
    const tokens = model.tokenize(text);
    expect(model.detokenize(tokens)).toBe(text);
    // <|im_start|> is a control token: one token when special tokens are parsed.
    expect(model.tokenize("<|im_start|>", true)).toEqual([3]);
  });

  it("loads other shapes", async () => {
    const small = await writeSyntheticGguf(path.join(dir, "small.gguf"), {
      embeddingLength: 32,
      headCount: 2,
      blockCount: 1,
      seed: 1,
    });
    const other = await llama.loadModel({ modelPath: small.path });
    try {
      expect(other.fileInfo.metadata.llama?.block_count).toBe(1);
      expect(other.fileInfo.metadata.llama?.embedding_length).toBe(32);
    } finally {
      await other.dispose();
    }
  });

  it("generates grammar-constrained JSON through a ChatML chat session", async () => {
    context = await model.createContext({ contextSize: 1024, threads: 1 });
    const session = new LlamaChatSession({ contextSequence: context.getSequence() });
    // The default template is plain ChatML, which node-llama-cpp finds equivalent to its own ChatML
    // wrapper and so prefers over a JinjaTemplateChatWrapper; the generic fallback would be "General".
    expect(session.chatWrapper).toBeInstanceOf(ChatMLChatWrapper);

    const grammar = await llama.createGrammarForJsonSchema({
      type: "object",
      properties: { a: { type: "string", maxLength: 20 } },
      required: ["a"],
    } as const);
    const answer = await session.prompt("Reply with a JSON object.", { grammar, maxTokens: 200 });
    const parsed: unknown = JSON.parse(answer);
    expect(parsed).toEqual({ a: expect.any(String) });
    expect((parsed as { a: string }).a.length).toBeLessThanOrEqual(20);
    // node-llama-cpp's own validator counts UTF-16 units, so this only holds because the model's
    // bias channel keeps it on printable ASCII (see synthetic-gguf.ts).
    expect(grammar.parse(answer)).toEqual(parsed);

    // Unconstrained, the model writes printable ASCII noise (no stray bytes, no early <|im_end|>).
    const free = await session.prompt("Write some code.", { maxTokens: 40 });
    expect(free).toMatch(/^[\x20-\x7e\t\n]+$/);
  });
});
