import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Token } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import { tempDir } from "../../test-support/fixtures.js";
import { checkStateFile } from "./state-file-check.js";

const TOKENS = [5, 6, 7] as Token[];

/** Little-endian fields as llama.cpp writes them. */
function u32(...values: number[]): Buffer {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((value, i) => buffer.writeUInt32LE(value, i * 4));
  return buffer;
}

function u64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
}

/**
 * A sequence state as llama_state_seq_save_file writes it: header and tokens, then one KV block with
 * `streams` streams of which the first holds one cell per token, two layers of 16-byte rows.
 */
function stateFile(options: { streams?: number; transposed?: boolean; tokens?: readonly number[] } = {}): Buffer {
  const tokens = options.tokens ?? TOKENS;
  const cells = TOKENS.length;
  const parts = [u32(0x67677371, 3, tokens.length), u32(...tokens), u32(options.streams ?? 1, cells)];
  for (let i = 0; i < cells; i++) parts.push(u32(i, 1, 0));
  parts.push(u32(options.transposed ? 1 : 0, 2));
  for (let layer = 0; layer < 2; layer++) parts.push(u32(1), u64(16), Buffer.alloc(cells * 16));
  for (let layer = 0; layer < 2; layer++)
    parts.push(
      ...(options.transposed
        ? [u32(1, 2, 8), Buffer.alloc(8 * cells * 2)]
        : [u32(1), u64(16), Buffer.alloc(cells * 16)]),
    );
  for (let stream = 1; stream < (options.streams ?? 1); stream++) parts.push(u32(0));
  return Buffer.concat(parts);
}

function check(bytes: Buffer, streams = 1): Promise<string | undefined> {
  const file = path.join(tempDir(), "entry.state");
  writeFileSync(file, bytes);
  return checkStateFile(file, { tokens: TOKENS, streams });
}

describe("checkStateFile (walks a llama.cpp sequence state before llama.cpp reads it)", () => {
  it("accepts an intact file, values transposed or not, one stream or two", async () => {
    expect(await check(stateFile())).toBeUndefined();
    expect(await check(stateFile({ transposed: true }))).toBeUndefined();
    expect(await check(stateFile({ streams: 2 }), 2)).toBeUndefined();
  });

  it("names what is wrong: truncated, trailing bytes, another layout, other tokens, not a state at all", async () => {
    const intact = stateFile();
    expect(await check(intact.subarray(0, intact.length - 1))).toMatch(/^truncated: needs \d+ bytes, the file has/);
    // Trailing bytes read as a second KV block (as an iSWA model writes) that does not hold up.
    expect(await check(Buffer.concat([intact, Buffer.alloc(64, 1)]))).toBeDefined();
    expect(await check(intact, 2)).toBe("saved with 1 sequence stream(s), this engine has 2");
    expect(await check(stateFile({ tokens: [5, 6, 8] }))).toBe("token 2 differs from the prefix");
    expect(await check(Buffer.alloc(intact.length, 7))).toMatch(/^not a llama.cpp sequence state/);
    expect(await check(Buffer.alloc(0))).toMatch(/^truncated/);
  });
});
