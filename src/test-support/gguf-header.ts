import { openSync, closeSync, ftruncateSync, writeSync } from "node:fs";
import path from "node:path";
import { tempDir } from "./fixtures.js";

/** The shape a header-only model claims. */
export interface HeaderOnlyModel {
  name: string;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  contextLength: number;
  /** The file's size, which memory estimates take as the weights' size; the rest is a sparse hole. */
  sizeBytes: number;
}

/** Qwen2.5-Coder-32B-Instruct Q5_K_M as its GGUF header describes it: 64 layers, 8 KV heads of 128, 32k trained context, ~23.3 GB. */
export const QWEN_32B_Q5_K_M: HeaderOnlyModel = {
  name: "Qwen2.5 Coder 32B Instruct",
  layers: 64,
  heads: 40,
  kvHeads: 8,
  headDim: 128,
  contextLength: 32_768,
  sizeBytes: 23_262_156_800,
};

/**
 * Writes a GGUF whose header claims `model`'s shape, with no tensors, extended to `sizeBytes` as a
 * sparse file: `doctor` and `models` read only the header and the size, so a 23 GB model can be
 * judged on a machine that could never hold it. llama.cpp cannot load it (there are no weights).
 */
export function writeHeaderOnlyGguf(model: HeaderOnlyModel, dir = tempDir("builder-header-gguf-")): string {
  const entries: Array<[string, number | string]> = [
    ["general.architecture", "qwen2"],
    ["general.name", model.name],
    ["general.file_type", 17], // MOSTLY_Q5_K_M
    ["qwen2.block_count", model.layers],
    ["qwen2.context_length", model.contextLength],
    ["qwen2.embedding_length", model.heads * model.headDim],
    ["qwen2.attention.head_count", model.heads],
    ["qwen2.attention.head_count_kv", model.kvHeads],
    ["qwen2.attention.key_length", model.headDim],
    ["qwen2.attention.value_length", model.headDim],
  ];
  const parts: Buffer[] = [Buffer.from("GGUF"), u32(3), u64(0), u64(entries.length)];
  for (const [key, value] of entries) {
    parts.push(str(key));
    if (typeof value === "string") parts.push(u32(8), str(value));
    else parts.push(u32(4), u32(value));
  }
  const file = path.join(dir, "qwen2.5-coder-32b-instruct-q5_k_m.gguf");
  const fd = openSync(file, "w");
  try {
    writeSync(fd, Buffer.concat(parts));
    ftruncateSync(fd, model.sizeBytes);
  } finally {
    closeSync(fd);
  }
  return file;
}

function u32(value: number): Buffer {
  const buffer = Buffer.alloc(4);
  buffer.writeUInt32LE(value);
  return buffer;
}

function u64(value: number): Buffer {
  const buffer = Buffer.alloc(8);
  buffer.writeBigUInt64LE(BigInt(value));
  return buffer;
}

function str(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return Buffer.concat([u64(bytes.length), bytes]);
}
