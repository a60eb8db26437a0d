import { AUTO_NUM_PREDICT_MAX, checkFit, DEFAULT_NUM_PREDICT, MIN_AUTO_NUM_PREDICT } from "../window-size/policy.js";
import { ContextOverflowError } from "../errors/errors.js";

/** Inputs to {@link planAnswerBudget}. */
export interface BudgetInput {
  promptTokens: number;
  contextSize: number;
  /** The configured `num_predict`, if any. */
  numPredict?: number;
  /** Whether `promptTokens` is an exact count or an estimate. */
  exact: boolean;
}

/**
 * Decides how many tokens the answer may use so that prompt + answer fit the context window (`num_predict:
 * auto`: the room left, up to {@link AUTO_NUM_PREDICT_MAX}). The
 * prompt is never cut: when it does not fit, this fails with the numbers needed to fix it.
 */
export function planAnswerBudget(input: BudgetInput): number {
  const { promptTokens, contextSize, numPredict } = input;
  const minimum = numPredict ?? MIN_AUTO_NUM_PREDICT;
  const { fits, needed, room } = checkFit(promptTokens, minimum, contextSize);
  // An estimated prompt (a server backend) may be larger than counted: keep the answer at 4096 there.
  const wanted = numPredict ?? Math.min(input.exact ? AUTO_NUM_PREDICT_MAX : DEFAULT_NUM_PREDICT, room);
  if (!fits) {
    throw new ContextOverflowError(
      `The prompt takes ${promptTokens} tokens${input.exact ? "" : " (estimated)"} and the answer needs up to ${numPredict ?? MIN_AUTO_NUM_PREDICT} ` +
        `(num_predict), but the context window is ${contextSize} tokens. Raise options.num_ctx to at least ${needed}, ` +
        `lower options.num_predict, or trim the knowledge base / context pack. Builder never truncates the prompt silently.`,
      { prompt_tokens: promptTokens, num_predict: numPredict ?? MIN_AUTO_NUM_PREDICT, num_ctx: contextSize, needed },
    );
  }
  return wanted;
}
