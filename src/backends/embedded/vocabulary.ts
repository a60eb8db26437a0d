import type { LlamaModel } from "node-llama-cpp";

/**
 * The most bytes of text one token of `model` stands for: the longest piece of its vocabulary as
 * stored in the GGUF file. A stored piece is never shorter than the text it decodes to ("▁" is 3 bytes
 * for a space, "<0x0A>" 6 for a newline, "Ġ" 2 for a space), so text of B bytes takes at least
 * B ÷ this many tokens. At least 1.
 */
export function longestTokenBytes(model: LlamaModel): number {
  const tokens: unknown = (model.fileInfo.metadata as { tokenizer?: { ggml?: { tokens?: unknown } } }).tokenizer?.ggml
    ?.tokens;
  let longest = 1;
  if (Array.isArray(tokens))
    for (const piece of tokens) if (typeof piece === "string") longest = Math.max(longest, Buffer.byteLength(piece));
  return longest;
}
