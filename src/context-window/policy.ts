/**
 * The context-window policy, in one place below everything that sizes a prompt: the window Builder
 * asks for when nothing configures one, the room it keeps for the answer, and the one check that a
 * prompt plus its answer fit. The engine, the model servers, `builder serve`, the context assembler,
 * the answer budget, `builder models` and `builder doctor` all read it here, so they cannot drift.
 */

/**
 * The context window when the config sets none, for every backend (capped by what the model was
 * trained on): 8192 holds a 300-line file, its neighbours and a 4096-token answer on a 7B model.
 */
export const DEFAULT_NUM_CTX = 8192;

/** The answer budget Builder uses when `num_predict` is not configured. */
export const DEFAULT_NUM_PREDICT = 4096;

/** The smallest answer budget Builder picks by itself before calling the context too small. */
export const MIN_AUTO_NUM_PREDICT = 1024;

/** The window to use when none is configured: {@link DEFAULT_NUM_CTX}, or less when the model was trained on less. */
export function defaultContextSize(trainedContextSize: number | undefined): number {
  return Math.min(trainedContextSize ?? DEFAULT_NUM_CTX, DEFAULT_NUM_CTX);
}

/** Tokens kept free for the answer: `num_predict`, or by default up to 4096 but at most half the window (at least 1024). */
export function reserveForAnswer(contextSize: number, numPredict?: number): number {
  return numPredict ?? Math.max(MIN_AUTO_NUM_PREDICT, Math.min(DEFAULT_NUM_PREDICT, Math.floor(contextSize / 2)));
}

/** The outcome of {@link checkFit}. */
export interface WindowFit {
  /** True when prompt plus answer fit the window. */
  fits: boolean;
  /** The window the two need: the smallest `num_ctx` that would fit them. */
  needed: number;
  /** Tokens left for the answer after the prompt (negative when the prompt alone overflows). */
  room: number;
}

/**
 * The one fit check: do `promptTokens` plus `answerTokens` fit a window of `contextSize`? Builder
 * never truncates a prompt, so every caller refuses (with `needed`) rather than cut.
 */
export function checkFit(promptTokens: number, answerTokens: number, contextSize: number): WindowFit {
  const needed = promptTokens + answerTokens;
  return { fits: needed <= contextSize, needed, room: contextSize - promptTokens };
}
