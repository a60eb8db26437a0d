import { checkFit } from "../../window-size/policy.js";
import { ContextOverflowError } from "../../errors/errors.js";

/**
 * Fails before sending when the (estimated) prompt plus the answer budget exceeds the context window:
 * servers truncate an overlong prompt silently or shift it out during generation.
 */
export function ensurePromptFits(estimatedPromptTokens: number, maxTokens: number, numCtx: number): void {
  const { fits, needed } = checkFit(estimatedPromptTokens, maxTokens, numCtx);
  if (fits) return;
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
export function ensureServerCountsFit(
  promptTokens: number,
  generatedTokens: number,
  numCtx: number,
  server: string,
): void {
  const { fits, needed } = checkFit(promptTokens, generatedTokens, numCtx);
  if (fits) return;
  throw new ContextOverflowError(
    `${server} reports ${promptTokens} prompt tokens and ${generatedTokens} answer tokens, more than the ${numCtx}-token context window: it must have truncated or shifted the prompt, so the answer was discarded. ` +
      `Raise options.num_ctx to at least ${needed}.`,
    { prompt_tokens: promptTokens, generated_tokens: generatedTokens, num_ctx: numCtx, needed },
  );
}
