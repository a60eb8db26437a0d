import type { LlamaModel } from "node-llama-cpp";
import type { ChatMessage } from "../backends/types.js";
import { HttpError } from "./http-io.js";

/**
 * Keeping huge prompts from stalling the server. llama.cpp tokenizes on the calling thread, so a
 * 30 MB prompt handed to it at once blocks every other request for seconds. Two defences:
 * a prompt of B bytes needs at least B ÷ (the longest token piece in bytes) tokens, which refuses
 * most oversized prompts before any tokenizing; what passes is tokenized in slices with a yield to the
 * event loop between them, stopping as soon as the count is clearly past the window.
 */

/** Bytes per slice handed to the tokenizer at once (a few milliseconds of work). */
const SLICE_BYTES = 64 * 1024;

/**
 * How many tokens a cut between two slices can add at most: the pieces on either side of a cut are
 * tokenized apart. Cuts are made after whitespace, where tokenizers split words anyway.
 */
const TOKENS_PER_CUT = 4;

/** Bytes of text in `messages` (what the tokenizer would get, before the chat template's own tokens). */
export function promptBytes(messages: readonly ChatMessage[]): number {
  let bytes = 0;
  for (const message of messages) bytes += Buffer.byteLength(message.content);
  return bytes;
}

/**
 * Refuses, before any tokenizing, a prompt too large to fit `room` tokens whatever its text:
 * B bytes are at least ⌈B ÷ longest piece⌉ tokens.
 */
export function refuseBySize(
  messages: readonly ChatMessage[],
  room: number,
  longestPiece: number,
  limit: string,
): void {
  // With no room at all (num_predict alone fills the window) the exact check says so in its own words.
  if (room < 1) return;
  const bytes = promptBytes(messages);
  const atLeast = Math.ceil(bytes / longestPiece);
  if (atLeast > room) {
    throw new HttpError(
      400,
      `the prompt (${bytes} bytes) does not fit: it needs at least ${atLeast} tokens (${bytes} bytes ÷ ${longestPiece}, the longest token of this model's vocabulary, in bytes), more than the ${room} tokens ${limit} leaves for it; refused by its size before tokenizing, the prompt is not truncated. Shorten the prompt.`,
    );
  }
}

/**
 * Counts the prompt's tokens slice by slice, yielding to the event loop between slices, and refuses
 * as soon as the count (less what the cuts could have added) is past `room`. Only a prompt that may
 * fit gets through; the caller then counts it exactly.
 */
export async function refuseByCountInSlices(
  model: LlamaModel,
  messages: readonly ChatMessage[],
  room: number,
  limit: string,
): Promise<void> {
  if (room < 1 || promptBytes(messages) <= SLICE_BYTES) return;
  let tokens = 0;
  let cuts = 0;
  for (const message of messages) {
    for (const slice of slices(message.content)) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      tokens += model.tokenize(slice, false).length;
      cuts++;
      const atLeast = tokens - cuts * TOKENS_PER_CUT;
      if (atLeast > room) {
        throw new HttpError(
          400,
          `the prompt does not fit: it needs more than ${atLeast} tokens (counted in slices and stopped there), more than the ${room} tokens ${limit} leaves for it; the prompt is not truncated. Shorten the prompt.`,
        );
      }
    }
  }
}

function* slices(text: string): Generator<string> {
  let start = 0;
  while (start < text.length) {
    let end = Math.min(text.length, start + SLICE_BYTES);
    if (end < text.length) {
      const space = text.lastIndexOf(" ", end);
      const newline = text.lastIndexOf("\n", end);
      const cut = Math.max(space, newline);
      if (cut > start) end = cut + 1;
    }
    yield text.slice(start, end);
    start = end;
  }
}
