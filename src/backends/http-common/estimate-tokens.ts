import type { ChatMessage } from "../types.js";

/**
 * Characters per token assumed when the server cannot count tokens for Builder. Code tokenizers
 * (Llama 3, Qwen 2.5, DeepSeek) average 3 to 4 characters per token; 2.5 overestimates the prompt on
 * purpose, so that the `num_ctx` Builder sends is never smaller than the real prompt.
 */
export const CHARS_PER_TOKEN_ESTIMATE = 2.5;

/** Tokens a chat template adds around each message (role markers, separators), generously. */
export const TOKENS_PER_MESSAGE = 8;

/** Tokens for the opening of the answer turn. */
const ANSWER_PRIMING_TOKENS = 8;

/** A conservative (high) estimate of the tokens a chat prompt takes on a server-side model. */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  let tokens = ANSWER_PRIMING_TOKENS;
  for (const message of messages)
    tokens += Math.ceil(message.content.length / CHARS_PER_TOKEN_ESTIMATE) + TOKENS_PER_MESSAGE;
  return tokens;
}
