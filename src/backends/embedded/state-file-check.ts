import { open, type FileHandle } from "node:fs/promises";
import type { Token } from "node-llama-cpp";

/** llama.cpp's sequence state file: magic "ggsq" and format version (llama.h LLAMA_STATE_SEQ_*). */
const STATE_SEQ_MAGIC = 0x67677371;
const STATE_SEQ_VERSION = 3;
/** Per cell: pos (i32), n_seq_id (u32), seq_id (i32); models with M-RoPE or PLE add a 12-byte extension. */
const CELL_STRIDES = [12, 24] as const;
/** An attention cache with a sliding-window part (iSWA) writes two KV blocks in a row. */
const MAX_KV_BLOCKS = 2;
const MAX_GGML_TYPE = 64;

/** What the engine expects a state file for `tokens` to hold. */
export interface StateFileExpectation {
  /** The prefix tokens the file must hold, exactly. */
  tokens: readonly Token[];
  /** KV streams of the context (one per sequence: node-llama-cpp does not unify the KV cache). */
  streams: number;
}

/** Thrown while walking a file that does not have the layout llama.cpp would read. */
class LayoutProblem extends Error {}

/** Reads a file at increasing offsets, refusing to read past its end. */
class Walker {
  offset = 0;

  constructor(
    private readonly file: FileHandle,
    readonly size: number,
  ) {}

  async bytes(length: number): Promise<Buffer> {
    this.need(length);
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await this.file.read(buffer, 0, length, this.offset);
    if (bytesRead !== length) throw new LayoutProblem(`short read at byte ${this.offset}`);
    this.offset += length;
    return buffer;
  }

  async u32(): Promise<number> {
    return (await this.bytes(4)).readUInt32LE(0);
  }

  async i32(): Promise<number> {
    return (await this.bytes(4)).readInt32LE(0);
  }

  async u64(): Promise<number> {
    const value = (await this.bytes(8)).readBigUInt64LE(0);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new LayoutProblem(`impossible row size ${value}`);
    return Number(value);
  }

  skip(length: number): void {
    this.need(length);
    this.offset += length;
  }

  private need(length: number): void {
    if (this.offset + length > this.size)
      throw new LayoutProblem(`truncated: needs ${this.offset + length} bytes, the file has ${this.size}`);
  }
}

/**
 * Walks a llama.cpp sequence state file the way `llama_state_seq_load_file` would read it, without
 * loading anything, and returns what is wrong with it (undefined: it is intact). llama.cpp trusts the
 * file: a truncated one makes it read past the end and abort the whole process
 * (`GGML_ASSERT(nread <= state_size)`), and one saved with another sequence layout leaves the
 * sequence holding stale cells. So every count is checked against the file's size, the tokens against
 * the prefix and the stream count against the context before llama.cpp ever opens the file.
 */
export async function checkStateFile(file: string, expected: StateFileExpectation): Promise<string | undefined> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(file, "r");
    const walker = new Walker(handle, (await handle.stat()).size);
    await walkHeader(walker, expected.tokens);
    let blocks = 0;
    while (walker.offset < walker.size) {
      if (blocks === MAX_KV_BLOCKS) throw new LayoutProblem(`${walker.size - walker.offset} unexpected trailing bytes`);
      await walkKvBlock(walker, expected);
      blocks++;
    }
    if (blocks === 0) throw new LayoutProblem("no KV cache data");
    return undefined;
  } catch (error) {
    if (error instanceof LayoutProblem) return error.message;
    return `unreadable: ${(error as Error).message}`;
  } finally {
    await handle?.close();
  }
}

async function walkHeader(walker: Walker, tokens: readonly Token[]): Promise<void> {
  const magic = await walker.u32();
  const version = await walker.u32();
  if (magic !== STATE_SEQ_MAGIC || version !== STATE_SEQ_VERSION)
    throw new LayoutProblem(`not a llama.cpp sequence state (magic ${hex(magic)}, version ${version})`);
  const count = await walker.u32();
  if (count !== tokens.length) throw new LayoutProblem(`holds ${count} tokens, the prefix has ${tokens.length}`);
  const saved = await walker.bytes(count * 4);
  for (let i = 0; i < count; i++)
    if (saved.readUInt32LE(i * 4) !== tokens[i]) throw new LayoutProblem(`token ${i} differs from the prefix`);
}

/** One KV cache's part (llama_kv_cache::state_write): streams, then per non-empty stream its cells and rows. */
async function walkKvBlock(walker: Walker, expected: StateFileExpectation): Promise<void> {
  const streams = await walker.u32();
  if (streams !== expected.streams)
    throw new LayoutProblem(`saved with ${streams} sequence stream(s), this engine has ${expected.streams}`);
  for (let stream = 0; stream < streams; stream++) {
    const cells = await walker.u32();
    if (cells === 0) continue;
    if (cells > expected.tokens.length)
      throw new LayoutProblem(`${cells} cells for a ${expected.tokens.length}-token prefix`);
    await walkCells(walker, cells, expected.tokens.length);
    await walkRows(walker, cells);
  }
}

/** The cells' positions and sequence ids; the stride is the one under which every cell is well-formed. */
async function walkCells(walker: Walker, cells: number, tokens: number): Promise<void> {
  for (const stride of CELL_STRIDES) {
    if (walker.offset + cells * stride > walker.size) continue;
    const meta = await walker.bytes(cells * stride);
    if (cellsWellFormed(meta, cells, stride, tokens)) return;
    walker.offset -= cells * stride;
  }
  throw new LayoutProblem("malformed cell list");
}

function cellsWellFormed(meta: Buffer, cells: number, stride: number, tokens: number): boolean {
  for (let i = 0; i < cells; i++) {
    const pos = meta.readInt32LE(i * stride);
    if (pos < 0 || pos >= tokens || meta.readUInt32LE(i * stride + 4) !== 1) return false;
  }
  return true;
}

/** Keys then values of every layer: a type, a row size and `cells` rows each (values maybe transposed). */
async function walkRows(walker: Walker, cells: number): Promise<void> {
  const transposed = await walker.u32();
  const layers = await walker.u32();
  if (transposed > 1 || layers === 0 || layers > 4096) throw new LayoutProblem("malformed layer header");
  for (let layer = 0; layer < layers; layer++) {
    await ggmlType(walker);
    walker.skip(cells * (await walker.u64()));
  }
  for (let layer = 0; layer < layers; layer++) {
    await ggmlType(walker);
    if (transposed === 0) {
      walker.skip(cells * (await walker.u64()));
      continue;
    }
    const elementSize = await walker.u32();
    const width = await walker.u32();
    walker.skip(width * cells * elementSize);
  }
}

async function ggmlType(walker: Walker): Promise<void> {
  const type = await walker.i32();
  if (type < 0 || type >= MAX_GGML_TYPE) throw new LayoutProblem(`unknown tensor type ${type}`);
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, "0")}`;
}
