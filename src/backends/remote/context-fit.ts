import { ContextOverflowError } from "../../errors/errors.js";

/** The context window Builder asks a server for when nothing configures one (as for the embedded engine). */
export const DEFAULT_SERVER_NUM_CTX = 8192;

/**
 * Fails before sending when the (estimated) prompt plus the answer budget exceeds the context window:
 * servers truncate an overlong prompt silently or shift it out during generation.
 */
export function ensurePromptFits(estimatedPromptTokens: number, maxTokens: number, numCtx: number): void {
  const needed = estimatedPromptTokens + maxTokens;
  if (needed <= numCtx) return;
  throw new ContextOverflowError(
    `The prompt takes about ${estimatedPromptTokens} tokens (estimated: the server cannot count them for Builder) and the answer needs up to ${maxTokens} (num_predict), ` +
      `but the context window is ${numCtx} tokens. Raise options.num_ctx to at least ${needed}, lower options.num_predict, or trim the knowledge base / context pack. ` +
      `Builder never lets a server truncate the prompt silently.`,
    { prompt_tokens: estimatedPromptTokens, num_predict: maxTokens, num_ctx: numCtx, needed, estimated: true },
  );
}

/**
 * Fails after the fact when the server's own counters show that prompt and answer did not fit: the
 * server must have truncated or shifted the prompt, so the answer cannot be trusted.
 */
export function ensureServerCountsFit(promptTokens: number, generatedTokens: number, numCtx: number, server: string): void {
  if (promptTokens + generatedTokens <= numCtx) return;
  throw new ContextOverflowError(
    `${server} reports ${promptTokens} prompt tokens and ${generatedTokens} answer tokens, more than the ${numCtx}-token context window: it must have truncated or shifted the prompt, so the answer was discarded. ` +
      `Raise options.num_ctx to at least ${promptTokens + generatedTokens}.`,
    { prompt_tokens: promptTokens, generated_tokens: generatedTokens, num_ctx: numCtx, needed: promptTokens + generatedTokens },
  );
}
