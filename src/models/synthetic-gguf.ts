/**
 * Writes tiny random-weight llama-architecture GGUF files that the real llama.cpp (through
 * node-llama-cpp) loads, tokenizes with and generates from. Tests, `builder demo` and benchmarks use
 * them so the whole pipeline runs for real without downloading a multi-gigabyte model. The text such a
 * model produces is noise; grammar-constrained generation still yields well-formed output.
 *
 * Layout: a minimal GGUF v3 writer, the byte-level vocabulary, the weights, then the public API.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import { writeFileAtomic } from "../workspace/atomic-write.js";
import { seededRandom } from "./seeded-random.js";

/** Options for {@link buildSyntheticGguf} and {@link writeSyntheticGguf}. */
export interface SyntheticModelOptions {
  /** PRNG seed; same seed + options => byte-identical file. Default 42. */
  seed?: number;
  /** Hidden size (`llama.embedding_length`); a multiple of `headCount` with an even head size. Default 64. */
  embeddingLength?: number;
  /** Number of transformer blocks. Default 2. */
  blockCount?: number;
  /** Attention heads; `head_count_kv` is the same (no grouped-query attention). Default 4. */
  headCount?: number;
  /**
   * Write `head_count_kv` as one entry per layer (an array, as hybrid models such as Granite 4 and
   * LFM2 do) instead of one number; every entry is still `headCount`. Default false.
   */
  perLayerKvHeads?: boolean;
  /** Feed-forward hidden size. Default 128. */
  feedForwardLength?: number;
  /** Training context length advertised to llama.cpp. Default 4096. */
  contextLength?: number;
  /** `general.name`. Default "builder-synthetic-tiny". */
  name?: string;
  /** Jinja chat template stored as tokenizer.chat_template. Default: a ChatML template (<|im_start|>role\ncontent<|im_end|>\n ... with add_generation_prompt). */
  chatTemplate?: string;
  /** Extra multi-character vocabulary pieces (normal tokens), e.g. one very long piece to test size bounds. Default none. */
  extraPieces?: string[];
  /**
   * A real byte-level BPE tokenizer ("gpt2" in GGUF terms: tokens, merges, pre-tokenizer) in place of
   * the byte-level toy vocabulary, so that token counts match a real model's. Its output matrix is
   * tied to the embeddings (one vocabulary-sized matrix, not two). Default none.
   */
  bpeTokenizer?: BpeTokenizerData;
}

/** A byte-level BPE tokenizer as GGUF stores it (`tokenizer.ggml.model` = "gpt2"). */
export interface BpeTokenizerData {
  /** Pieces in id order, in the byte-level alphabet (Ġ for a space), as tokenizer.json spells them. */
  tokens: readonly string[];
  /** `llama_token_type` of each token: 1 normal, 3 control, 4 user-defined. */
  types: readonly number[];
  /** Merge rules in priority order, each "left right". */
  merges: readonly string[];
  /** llama.cpp's pre-tokenizer name (`tokenizer.ggml.pre`), e.g. "qwen2". */
  pre: string;
  bos: number;
  eos: number;
  padding: number;
}

/** What {@link writeSyntheticGguf} wrote. */
export interface SyntheticModelInfo {
  /** Absolute path of the written file. */
  path: string;
  sizeBytes: number;
  /** Number of tokens in the vocabulary (`llama.vocab_size`). */
  vocabularySize: number;
  /** Hex SHA-256 of the file contents. */
  sha256: string;
}

/** The ChatML template used when no `chatTemplate` is given (the common Qwen / OpenHermes shape). */
const CHATML_TEMPLATE =
  "{% for message in messages %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

type ResolvedOptions = Required<Omit<SyntheticModelOptions, "bpeTokenizer">> &
  Pick<SyntheticModelOptions, "bpeTokenizer">;

const DEFAULTS: ResolvedOptions = {
  seed: 42,
  embeddingLength: 64,
  blockCount: 2,
  headCount: 4,
  perLayerKvHeads: false,
  feedForwardLength: 128,
  contextLength: 4096,
  name: "builder-synthetic-tiny",
  chatTemplate: CHATML_TEMPLATE,
  extraPieces: [],
};

// ---------------------------------------------------------------------------------------------------
// GGUF writer
// ---------------------------------------------------------------------------------------------------

/** GGUF metadata value types (gguf.h `gguf_type`); only the ones this file writes. */
const GGUF_UINT32 = 4;
const GGUF_INT32 = 5;
const GGUF_FLOAT32 = 6;
const GGUF_BOOL = 7;
const GGUF_STRING = 8;
const GGUF_ARRAY = 9;

/** ggml tensor type F32; every tensor here is F32 so no quantization code is needed. */
const GGML_TYPE_F32 = 0;
/** `general.alignment`, and llama.cpp's default when the key is absent. */
const ALIGNMENT = 32;

/** A metadata value: a scalar, or a homogeneous array of one scalar type. */
type GgufScalar =
  | { type: typeof GGUF_UINT32 | typeof GGUF_INT32 | typeof GGUF_FLOAT32; value: number }
  | { type: typeof GGUF_BOOL; value: boolean }
  | { type: typeof GGUF_STRING; value: string };
type GgufValue =
  | GgufScalar
  | { type: typeof GGUF_ARRAY; elementType: typeof GGUF_STRING; values: readonly string[] }
  | { type: typeof GGUF_ARRAY; elementType: typeof GGUF_INT32 | typeof GGUF_FLOAT32; values: readonly number[] };

const u32 = (value: number): GgufValue => ({ type: GGUF_UINT32, value });
const f32 = (value: number): GgufValue => ({ type: GGUF_FLOAT32, value });
const bool = (value: boolean): GgufValue => ({ type: GGUF_BOOL, value });
const str = (value: string): GgufValue => ({ type: GGUF_STRING, value });

/** A tensor to store. `dims` are in ggml order: ne[0], the contiguous (input) dimension, first. */
interface TensorSpec {
  name: string;
  dims: readonly number[];
  /** Produces the tensor's values, in storage order. */
  values: (count: number) => Float32Array;
}

/** Little-endian byte sink for the header part of the file (metadata and tensor infos). */
class ByteWriter {
  private readonly chunks: Buffer[] = [];
  private length = 0;

  private fixed(size: number, write: (b: Buffer) => void): void {
    const b = Buffer.alloc(size);
    write(b);
    this.raw(b);
  }

  raw(bytes: Buffer): void {
    this.chunks.push(bytes);
    this.length += bytes.length;
  }

  u32(v: number): void {
    this.fixed(4, (b) => b.writeUInt32LE(v));
  }

  i32(v: number): void {
    this.fixed(4, (b) => b.writeInt32LE(v));
  }

  u64(v: number): void {
    this.fixed(8, (b) => b.writeBigUInt64LE(BigInt(v)));
  }

  f32(v: number): void {
    this.fixed(4, (b) => b.writeFloatLE(v));
  }

  /** GGUF string: u64 byte length, then the UTF-8 bytes (no terminator). */
  string(v: string): void {
    const bytes = Buffer.from(v, "utf8");
    this.u64(bytes.length);
    this.raw(bytes);
  }

  padTo(alignment: number): void {
    const pad = (alignment - (this.length % alignment)) % alignment;
    if (pad > 0) this.raw(Buffer.alloc(pad));
  }

  toBuffer(): Buffer {
    return Buffer.concat(this.chunks, this.length);
  }
}

function writeScalar(w: ByteWriter, v: GgufScalar): void {
  switch (v.type) {
    case GGUF_UINT32:
      return w.u32(v.value);
    case GGUF_INT32:
      return w.i32(v.value);
    case GGUF_FLOAT32:
      return w.f32(v.value);
    case GGUF_BOOL:
      return w.raw(Buffer.from([v.value ? 1 : 0]));
    case GGUF_STRING:
      return w.string(v.value);
  }
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  w.u32(v.type);
  if (v.type !== GGUF_ARRAY) return writeScalar(w, v);
  w.u32(v.elementType);
  w.u64(v.values.length);
  if (v.elementType === GGUF_STRING) for (const s of v.values) w.string(s);
  else if (v.elementType === GGUF_INT32) for (const n of v.values) w.i32(n);
  else for (const n of v.values) w.f32(n);
}

const alignUp = (n: number, alignment: number): number => Math.ceil(n / alignment) * alignment;

/** Serializes a GGUF v3 file: header, metadata, tensor infos, padding, then the aligned tensor data. */
function encodeGguf(metadata: ReadonlyArray<readonly [string, GgufValue]>, tensors: readonly TensorSpec[]): Buffer {
  const w = new ByteWriter();
  w.raw(Buffer.from("GGUF", "ascii"));
  w.u32(3); // version
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.string(key);
    writeValue(w, value);
  }

  // Tensor infos. Offsets are relative to the data section, and each one is aligned because
  // llama.cpp rejects a tensor whose offset is not a multiple of general.alignment.
  let dataSize = 0;
  const placed: Array<{ spec: TensorSpec; offset: number; count: number }> = [];
  for (const spec of tensors) {
    const count = spec.dims.reduce((a, b) => a * b, 1);
    w.string(spec.name);
    w.u32(spec.dims.length);
    for (const d of spec.dims) w.u64(d);
    w.u32(GGML_TYPE_F32);
    w.u64(dataSize);
    placed.push({ spec, offset: dataSize, count });
    dataSize = alignUp(dataSize + count * 4, ALIGNMENT);
  }
  w.padTo(ALIGNMENT);

  const data = Buffer.alloc(dataSize);
  for (const { spec, offset, count } of placed) {
    const values = spec.values(count);
    // writeFloatLE keeps the file little-endian whatever the host byte order.
    for (let i = 0; i < count; i++) data.writeFloatLE(values[i], offset + i * 4);
  }
  return Buffer.concat([w.toBuffer(), data]);
}

// ---------------------------------------------------------------------------------------------------
// Vocabulary
// ---------------------------------------------------------------------------------------------------

/** llama.cpp token attributes (`llama_token_type`). */
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

interface Vocabulary {
  tokens: string[];
  scores: number[];
  types: number[];
  unk: number;
  bos: number;
  eos: number;
  imStart: number;
  imEnd: number;
}

/** A BPE vocabulary in the shape the weights code reads (scores unused: BPE ranks by merges). */
function bpeVocabulary(bpe: BpeTokenizerData): Vocabulary {
  const imStart = bpe.tokens.indexOf("<|im_start|>");
  return {
    tokens: [...bpe.tokens],
    scores: [],
    types: [...bpe.types],
    unk: -1,
    bos: bpe.bos,
    eos: bpe.eos,
    imStart,
    imEnd: bpe.eos,
  };
}

/**
 * A SentencePiece-style ("llama") vocabulary that can encode any text: control tokens, all 256
 * `<0xXX>` byte-fallback tokens, then single-character pieces for the space marker "▁" and printable
 * ASCII. There are no multi-character pieces, so the SPM merge step never fires and every string
 * maps to one token per ASCII character (non-ASCII text falls back to its UTF-8 bytes).
 */
function buildVocabulary(extraPieces: readonly string[] = []): Vocabulary {
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  const add = (text: string, type: number, score = 0): number => {
    tokens.push(text);
    scores.push(score);
    types.push(type);
    return tokens.length - 1;
  };
  const unk = add("<unk>", TOKEN_UNKNOWN);
  const bos = add("<s>", TOKEN_CONTROL);
  const eos = add("</s>", TOKEN_CONTROL);
  const imStart = add("<|im_start|>", TOKEN_CONTROL);
  const imEnd = add("<|im_end|>", TOKEN_CONTROL);
  // llama.cpp's SPM byte fallback looks these up by exactly this spelling (uppercase hex).
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`, TOKEN_BYTE);
  add("\u2581", TOKEN_NORMAL, -1);
  for (let c = 0x21; c <= 0x7e; c++) add(String.fromCharCode(c), TOKEN_NORMAL, -2 - (c - 0x21) / 100);
  for (const piece of extraPieces) add(piece, TOKEN_NORMAL, -3);
  return { tokens, scores, types, unk, bos, eos, imStart, imEnd };
}

/** The GGUF tokenizer keys of a byte-level BPE vocabulary. */
function bpeMetadata(bpe: BpeTokenizerData): Array<readonly [string, GgufValue]> {
  return [
    ["tokenizer.ggml.model", str("gpt2")],
    ["tokenizer.ggml.pre", str(bpe.pre)],
    ["tokenizer.ggml.tokens", { type: GGUF_ARRAY, elementType: GGUF_STRING, values: bpe.tokens }],
    ["tokenizer.ggml.token_type", { type: GGUF_ARRAY, elementType: GGUF_INT32, values: bpe.types }],
    ["tokenizer.ggml.merges", { type: GGUF_ARRAY, elementType: GGUF_STRING, values: bpe.merges }],
    ["tokenizer.ggml.bos_token_id", u32(bpe.bos)],
    ["tokenizer.ggml.eos_token_id", u32(bpe.eos)],
    ["tokenizer.ggml.eot_token_id", u32(bpe.eos)],
    ["tokenizer.ggml.padding_token_id", u32(bpe.padding)],
    // Qwen's tokenizer adds no BOS: the chat template starts the text.
    ["tokenizer.ggml.add_bos_token", bool(false)],
  ];
}

// ---------------------------------------------------------------------------------------------------
// Weights
// ---------------------------------------------------------------------------------------------------

/** Gaussian sampler (Box-Muller) over a seeded uniform source. */
function gaussian(uniform: () => number): () => number {
  return () => {
    const u1 = 1 - uniform(); // in (0, 1], so the log is finite
    const u2 = uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  };
}

function checkedOptions(options: SyntheticModelOptions): ResolvedOptions {
  const o: ResolvedOptions = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options) as Array<[keyof SyntheticModelOptions, unknown]>) {
    if (value !== undefined) Object.assign(o, { [key]: value });
  }
  const sizes = ["embeddingLength", "blockCount", "headCount", "feedForwardLength", "contextLength"] as const;
  for (const key of sizes) {
    if (!Number.isInteger(o[key]) || o[key] < 1)
      throw new RangeError(`${key} must be a positive integer, got ${o[key]}`);
  }
  if (!Number.isInteger(o.seed)) throw new RangeError(`seed must be an integer, got ${o.seed}`);
  // RoPE rotates pairs of dimensions, so each head needs an even size.
  const headSize = o.embeddingLength / o.headCount;
  if (!Number.isInteger(headSize) || headSize % 2 !== 0) {
    throw new RangeError(
      `embeddingLength (${o.embeddingLength}) must be headCount (${o.headCount}) times an even head size`,
    );
  }
  return o;
}

/** The GGUF tokenizer keys of the byte-level toy vocabulary (SentencePiece style). */
function spmMetadata(vocab: Vocabulary): Array<readonly [string, GgufValue]> {
  return [
    ["tokenizer.ggml.model", str("llama")],
    ["tokenizer.ggml.tokens", { type: GGUF_ARRAY, elementType: GGUF_STRING, values: vocab.tokens }],
    ["tokenizer.ggml.scores", { type: GGUF_ARRAY, elementType: GGUF_FLOAT32, values: vocab.scores }],
    ["tokenizer.ggml.token_type", { type: GGUF_ARRAY, elementType: GGUF_INT32, values: vocab.types }],
    ["tokenizer.ggml.bos_token_id", u32(vocab.bos)],
    // ChatML ends a turn with <|im_end|>, so it is both EOS and EOT; "</s>" stays a plain control token.
    ["tokenizer.ggml.eos_token_id", u32(vocab.imEnd)],
    ["tokenizer.ggml.eot_token_id", u32(vocab.imEnd)],
    ["tokenizer.ggml.unknown_token_id", u32(vocab.unk)],
    ["tokenizer.ggml.add_bos_token", bool(true)],
    ["tokenizer.ggml.add_eos_token", bool(false)],
    // SPM models default to prepending "▁" to the text; a code model wants text to round-trip
    // exactly (no phantom leading space after every special token), so switch it off.
    ["tokenizer.ggml.add_space_prefix", bool(false)],
  ];
}

/** The GGUF key/value metadata of a synthetic model: llama hyperparameters, tokenizer and chat template. */
function modelMetadata(o: ResolvedOptions, vocab: Vocabulary): Array<readonly [string, GgufValue]> {
  return [
    ["general.architecture", str("llama")],
    ["general.name", str(o.name)],
    ["general.alignment", u32(ALIGNMENT)],
    ["general.file_type", u32(0)], // LLAMA_FTYPE_ALL_F32
    ["llama.context_length", u32(o.contextLength)],
    ["llama.embedding_length", u32(o.embeddingLength)],
    ["llama.block_count", u32(o.blockCount)],
    ["llama.feed_forward_length", u32(o.feedForwardLength)],
    ["llama.attention.head_count", u32(o.headCount)],
    [
      "llama.attention.head_count_kv",
      o.perLayerKvHeads
        ? { type: GGUF_ARRAY, elementType: GGUF_INT32, values: new Array<number>(o.blockCount).fill(o.headCount) }
        : u32(o.headCount),
    ],
    ["llama.attention.layer_norm_rms_epsilon", f32(1e-5)],
    ["llama.rope.dimension_count", u32(o.embeddingLength / o.headCount)],
    ["llama.rope.freq_base", f32(10000)],
    ["llama.vocab_size", u32(vocab.tokens.length)],
    ...(o.bpeTokenizer ? bpeMetadata(o.bpeTokenizer) : spmMetadata(vocab)),
    ["tokenizer.chat_template", str(o.chatTemplate)],
  ];
}

// ---------------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------------

/**
 * Builds a complete synthetic GGUF model file in memory: a llama-architecture transformer with F32
 * random weights and a byte-level vocabulary. Deterministic: the same seed and options always give
 * byte-identical output.
 *
 * @param options - model shape, seed, name and chat template; all optional.
 * @returns the file contents.
 * @throws RangeError when a size is not a positive integer or the head size is not even.
 */
export function buildSyntheticGguf(options: SyntheticModelOptions = {}): Buffer {
  const o = checkedOptions(options);
  const vocab = o.bpeTokenizer ? bpeVocabulary(o.bpeTokenizer) : buildVocabulary(o.extraPieces);
  const nVocab = vocab.tokens.length;
  const nEmbd = o.embeddingLength;
  const nFf = o.feedForwardLength;
  const nEmbdKv = nEmbd; // head_count_kv == head_count

  const metadata = modelMetadata(o, vocab);

  // One PRNG stream consumed in tensor order, which is what makes the file reproducible.
  const normal = gaussian(seededRandom(o.seed));
  const random =
    (std: number) =>
    (count: number): Float32Array => {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = normal() * std;
      return out;
    };
  // RMS-norm gains of 1 leave the normalized activations as they are.
  const ones = (count: number): Float32Array => new Float32Array(count).fill(1);
  // Embeddings get a larger spread than the projections so tokens are clearly distinguishable and the
  // output logits are not all but flat; 0.02 for projections is the usual GPT-style init.
  const projection = random(0.02);

  // A "bias channel". Pure noise weights make the model emit mostly byte tokens: invalid UTF-8 and
  // astral-plane characters. That looks bad in the demo and trips callers, because a JSON-schema
  // grammar caps maxLength in code points while node-llama-cpp's grammar.parse() (like zod's .max())
  // counts UTF-16 units. So dimension 0 of every token embedding is a constant 1. The small random
  // blocks barely change it, so after the final RMS norm it is a large, steady component.
  // Column 0 of the output matrix then acts as a per-token logit bias that favours printable text
  // over bytes and control tokens. The noise still picks which printable character comes next.
  // <|im_end|> is not favoured, so unconstrained generation runs until maxTokens, which keeps
  // benchmark lengths predictable.
  const favoured = vocab.tokens.map((t, id) => vocab.types[id] === TOKEN_NORMAL || t === "<0x0A>" || t === "<0x09>");
  const embeddings = (count: number): Float32Array => {
    const out = random(0.1)(count);
    for (let t = 0; t < nVocab; t++) out[t * nEmbd] = 1;
    return out;
  };
  const unembedding = (count: number): Float32Array => {
    const out = random(0.1)(count);
    for (let t = 0; t < nVocab; t++) out[t * nEmbd] = favoured[t] ? 0.5 : -0.5;
    return out;
  };

  // Tied (a BPE vocabulary of 150K tokens): llama.cpp reuses token_embd as the output matrix, and
  // dimension 0 carries the bias itself (+1 for favoured tokens, -1 for the rest).
  const tiedEmbeddings = (count: number): Float32Array => {
    const out = random(0.1)(count);
    for (let t = 0; t < nVocab; t++) out[t * nEmbd] = favoured[t] ? 1 : -1;
    return out;
  };
  const tensors: TensorSpec[] = o.bpeTokenizer
    ? [
        { name: "token_embd.weight", dims: [nEmbd, nVocab], values: tiedEmbeddings },
        { name: "output_norm.weight", dims: [nEmbd], values: ones },
      ]
    : [
        { name: "token_embd.weight", dims: [nEmbd, nVocab], values: embeddings },
        { name: "output_norm.weight", dims: [nEmbd], values: ones },
        { name: "output.weight", dims: [nEmbd, nVocab], values: unembedding },
      ];
  for (let i = 0; i < o.blockCount; i++) {
    const blk = `blk.${i}`;
    tensors.push(
      { name: `${blk}.attn_norm.weight`, dims: [nEmbd], values: ones },
      { name: `${blk}.attn_q.weight`, dims: [nEmbd, nEmbd], values: projection },
      { name: `${blk}.attn_k.weight`, dims: [nEmbd, nEmbdKv], values: projection },
      { name: `${blk}.attn_v.weight`, dims: [nEmbd, nEmbdKv], values: projection },
      { name: `${blk}.attn_output.weight`, dims: [nEmbd, nEmbd], values: projection },
      { name: `${blk}.ffn_norm.weight`, dims: [nEmbd], values: ones },
      { name: `${blk}.ffn_gate.weight`, dims: [nEmbd, nFf], values: projection },
      { name: `${blk}.ffn_down.weight`, dims: [nFf, nEmbd], values: projection },
      { name: `${blk}.ffn_up.weight`, dims: [nEmbd, nFf], values: projection },
    );
  }
  return encodeGguf(metadata, tensors);
}

/**
 * Builds a synthetic model (see {@link buildSyntheticGguf}) and writes it to `filePath` atomically:
 * the bytes go to a temporary file in the same folder, which is then renamed into place, so a
 * concurrent reader never sees a half-written model. Creates the folder if needed.
 *
 * @param filePath - where to write the `.gguf` file.
 * @param options - forwarded to {@link buildSyntheticGguf}.
 * @returns the absolute path, size, vocabulary size and SHA-256 of the written file.
 */
export async function writeSyntheticGguf(
  filePath: string,
  options: SyntheticModelOptions = {},
): Promise<SyntheticModelInfo> {
  const bytes = buildSyntheticGguf(options);
  const target = path.resolve(filePath);
  await writeFileAtomic(target, bytes);
  return {
    path: target,
    sizeBytes: bytes.length,
    vocabularySize: options.bpeTokenizer?.tokens.length ?? buildVocabulary(options.extraPieces).tokens.length,
    sha256: createHash("sha256").update(bytes).digest("hex"),
  };
}
