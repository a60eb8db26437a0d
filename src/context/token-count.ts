import type { ChatMessage } from "../backends/types.js";

/** Anything that counts a prompt's tokens: every Backend does. */
export interface TokenCounter {
  countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }>;
  /**
   * The most bytes of text one token can stand for with this counter's tokenizer (its vocabulary's
   * longest piece), so that text too large for the window is refused before it is tokenized.
   * Undefined or absent: no such bound is known.
   */
  maxBytesPerToken?(): Promise<number | undefined>;
}

/**
 * Bytes per token assumed when no tokenizer is at hand. Code tokenizers average 3.5–4.5 bytes of
 * source per token, so 3 over-counts on purpose: an estimate must not let a prompt overflow.
 */
export const ESTIMATE_BYTES_PER_TOKEN = 3;
/** Tokens assumed for each message's chat-template framing (role markers, separators). */
export const ESTIMATE_TOKENS_PER_MESSAGE = 8;

/** A conservative token estimate for text. */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, "utf8") / ESTIMATE_BYTES_PER_TOKEN);
}

/** A counter that estimates (for benchmarks, and backends without a tokenizer). */
export const estimatingCounter: TokenCounter = {
  countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }> {
    return Promise.resolve({
      tokens: messages.reduce((sum, m) => sum + ESTIMATE_TOKENS_PER_MESSAGE + estimateTokens(m.content), 0),
      exact: false,
    });
  },
};
