/**
 * The window-size policy (num_ctx), in one place below everything that sizes a prompt: the window Builder
 * asks for when nothing configures one, the room it keeps for the answer, and the one check that a
 * prompt plus its answer fit. The engine, the model servers, `builder serve`, the context assembler,
 * the answer budget, `builder models` and `builder doctor` all read it here, so they cannot drift.
 */

/**
 * The window a backend opens before it knows the task (and the one `num_ctx: auto` starts from, its
 * smallest bucket), capped by what the model was trained on: 8192 holds a 300-line file, its
 * neighbours and a 4096-token answer on a 7B model. A task that needs more gets a bigger bucket
 * ({@link chooseWindow}).
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

/**
 * The windows `num_ctx: auto` chooses from. A few fixed sizes rather than "exactly what the prompt
 * needs", so that a resident model (Ollama, `builder serve`, the embedded engine) keeps its context
 * across tasks of similar size and is reloaded only when a task needs a bigger bucket.
 */
export const CONTEXT_BUCKETS: readonly number[] = [8192, 16384, 32768, 65536, 131072];

/** The most tokens `num_predict: auto` gives the answer: the room left in the window, up to this. */
export const AUTO_NUM_PREDICT_MAX = 8192;

/**
 * The largest window `num_ctx: auto` may choose: the largest bucket, capped by the model's trained
 * context and by the context whose KV cache fits the card's free memory beside the model (undefined
 * caps are not known and do not bound). Never below the smallest window that can hold anything.
 */
export function autoWindowCap(trainedContextSize: number | undefined, memoryFitContext: number | undefined): number {
  const largest = CONTEXT_BUCKETS[CONTEXT_BUCKETS.length - 1] as number;
  const cap = Math.min(largest, trainedContextSize ?? largest, memoryFitContext ?? largest);
  return Math.max(MIN_AUTO_NUM_PREDICT * 2, cap);
}

/**
 * The window `num_ctx: auto` asks for: the smallest bucket that holds `neededTokens` (prompt plus
 * the answer's reserve), no larger than `cap`; `cap` itself when no bucket below it is large enough
 * (a model trained on 40,000 tokens gets 40,000, not 32,768 and an overflow).
 */
export function chooseWindow(neededTokens: number, cap: number): number {
  const bucket = CONTEXT_BUCKETS.find((size) => size >= neededTokens);
  return bucket === undefined ? cap : Math.min(bucket, cap);
}

/**
 * Whether a model already loaded with `loadedContextSize` can run a request that asked for
 * `requestedContextSize`: the host's reload rule, "a request whose window fits the loaded context
 * runs there; a bigger one reloads". A smaller request never reloads a model.
 */
export function keepsLoadedWindow(loadedContextSize: number | undefined, requestedContextSize: number): boolean {
  return loadedContextSize !== undefined && loadedContextSize >= requestedContextSize;
}
