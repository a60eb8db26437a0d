import { open, type FileHandle } from "node:fs/promises";
import { ModelError } from "../errors/errors.js";

/**
 * A bounds check of a GGUF header before anything parses it. node-llama-cpp's reader (used by
 * `readGgufFileInfo` and by `loadModel`) trusts the counts in the header: a file claiming 2^40 tensors
 * or metadata keys keeps it reading, and allocating, for ever. Here every count and length is held
 * against the bytes the file has left, so such a file fails at once with MODEL_LOAD_FAILED.
 */

/** The smallest metadata entry: key length (8), an empty key, the value type (4), a one-byte value. */
const MIN_KV_BYTES = 13;
/** The smallest tensor entry: name length (8), dimension count (4), type (4), offset (8). */
const MIN_TENSOR_BYTES = 24;
/** ggml tensors have at most 4 dimensions; a little room for future formats. */
const MAX_DIMENSIONS = 8;

/** Byte size of each fixed-size GGUF value type (gguf.h `gguf_type`); 8 = string, 9 = array. */
const FIXED_SIZES: Readonly<Record<number, number>> = {
  0: 1,
  1: 1,
  2: 2,
  3: 2,
  4: 4,
  5: 4,
  6: 4,
  7: 1,
  10: 8,
  11: 8,
  12: 8,
};
const STRING = 8;
const ARRAY = 9;

/** Reads a file front to back through a window, never past its end. */
class BoundedReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;
  offset = 0;

  constructor(
    private readonly handle: FileHandle,
    readonly size: number,
    private readonly fail: (message: string, details?: Record<string, unknown>) => never,
  ) {}

  get remaining(): number {
    return this.size - this.offset;
  }

  async bytes(count: number, what: string): Promise<Buffer> {
    if (count > this.remaining)
      this.fail(
        `${what} needs ${count} bytes at offset ${this.offset}, but the file ends ${this.remaining} bytes later`,
      );
    const end = this.offset + count;
    if (this.offset < this.windowStart || end > this.windowStart + this.window.length) {
      const length = Math.min(this.size - this.offset, Math.max(count, 1 << 20));
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await this.handle.read(buffer, 0, length, this.offset);
      this.window = buffer.subarray(0, bytesRead);
      this.windowStart = this.offset;
      if (bytesRead < count) this.fail(`the file ended while reading ${what}`);
    }
    const start = this.offset - this.windowStart;
    this.offset = end;
    return this.window.subarray(start, start + count);
  }

  skip(count: number, what: string): void {
    if (count > this.remaining)
      this.fail(
        `${what} needs ${count} bytes at offset ${this.offset}, but the file ends ${this.remaining} bytes later`,
      );
    this.offset += count;
  }

  async u32(what: string): Promise<number> {
    return (await this.bytes(4, what)).readUInt32LE(0);
  }

  async u64(what: string): Promise<bigint> {
    return (await this.bytes(8, what)).readBigUInt64LE(0);
  }

  /** A string's length, checked against what is left; the string itself is skipped. */
  async skipString(what: string): Promise<void> {
    const length = await this.u64(`the length of ${what}`);
    if (length > BigInt(this.remaining))
      this.fail(`${what} claims ${length} bytes, but only ${this.remaining} are left in the file`, {
        claimed_length: length.toString(),
      });
    this.skip(Number(length), what);
  }
}

/**
 * Checks that the header of the GGUF file at `filePath` is consistent with its size: tensor and
 * metadata counts, string and array lengths. Files that are not GGUF v2/v3 are left to the parser.
 *
 * @throws ModelError MODEL_LOAD_FAILED naming the file and the impossible count.
 */
export async function assertGgufHeaderBounded(filePath: string): Promise<void> {
  const fail = (message: string, details: Record<string, unknown> = {}): never => {
    throw new ModelError(
      "MODEL_LOAD_FAILED",
      `${filePath} is not a usable GGUF file: ${message}. Re-download it, or give another model.`,
      { path: filePath, ...details },
    );
  };
  let handle: FileHandle;
  try {
    handle = await open(filePath, "r");
  } catch {
    return; // a missing or unreadable file is reported by the caller, with its own wording
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile() || stats.size < 24) return;
    const reader = new BoundedReader(handle, stats.size, fail);
    const head = await reader.bytes(8, "the magic and version");
    const version = head.readUInt32LE(4);
    if (head.toString("latin1", 0, 4) !== "GGUF" || (version !== 2 && version !== 3)) return;
    const tensors = await reader.u64("the tensor count");
    const keys = await reader.u64("the metadata key count");
    const room = BigInt(reader.remaining);
    if (tensors * BigInt(MIN_TENSOR_BYTES) > room)
      fail(
        `its header claims ${tensors} tensors, but the file has only ${reader.size} bytes (each tensor entry takes at least ${MIN_TENSOR_BYTES})`,
        { claimed_tensors: tensors.toString() },
      );
    if (keys * BigInt(MIN_KV_BYTES) + tensors * BigInt(MIN_TENSOR_BYTES) > room) {
      fail(
        `its header claims ${keys} metadata keys, but the file has only ${reader.size} bytes (each key takes at least ${MIN_KV_BYTES})`,
        { claimed_keys: keys.toString() },
      );
    }
    for (let i = 0; i < Number(keys); i++) {
      await reader.skipString(`metadata key ${i}`);
      await skipValue(reader, await reader.u32(`the type of metadata key ${i}`), `metadata value ${i}`, fail);
    }
    for (let i = 0; i < Number(tensors); i++) {
      await reader.skipString(`the name of tensor ${i}`);
      const dimensions = await reader.u32(`the dimension count of tensor ${i}`);
      if (dimensions > MAX_DIMENSIONS)
        fail(`tensor ${i} claims ${dimensions} dimensions (at most ${MAX_DIMENSIONS})`, {
          claimed_dimensions: dimensions,
        });
      reader.skip(dimensions * 8 + 4 + 8, `the shape, type and offset of tensor ${i}`);
    }
  } finally {
    await handle.close();
  }
}

async function skipValue(
  reader: BoundedReader,
  type: number,
  what: string,
  fail: (message: string, details?: Record<string, unknown>) => never,
): Promise<void> {
  if (type === STRING) return reader.skipString(what);
  if (type === ARRAY) {
    const elementType = await reader.u32(`the element type of ${what}`);
    const count = await reader.u64(`the length of ${what}`);
    const elementBytes = elementType === STRING ? 8 : elementType === ARRAY ? 12 : FIXED_SIZES[elementType];
    if (elementBytes === undefined) fail(`${what} is an array of unknown type ${elementType}`);
    if (count * BigInt(elementBytes) > BigInt(reader.remaining)) {
      fail(`${what} claims ${count} elements, but only ${reader.remaining} bytes are left in the file`, {
        claimed_elements: count.toString(),
      });
    }
    if (elementType !== STRING && elementType !== ARRAY) {
      reader.skip(Number(count) * elementBytes, what);
      return;
    }
    for (let i = 0; i < Number(count); i++) await skipValue(reader, elementType, `${what}[${i}]`, fail);
    return;
  }
  const size = FIXED_SIZES[type];
  if (size === undefined) fail(`${what} has unknown type ${type}`);
  reader.skip(size, what);
}
