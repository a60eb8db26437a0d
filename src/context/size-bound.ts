import { ContextOverflowError } from "../errors/errors.js";

/**
 * A refusal before any tokenizing. Tokenizing a 20 MiB objective takes minutes on a CPU (and the
 * context assembly counts the prompt several times), only to learn that it cannot fit. But text of
 * B bytes takes at least B ÷ (the longest token of the vocabulary, in bytes) tokens, so the parts
 * that are never dropped can be refused by their size at once.
 */
export interface SizeBoundInput {
  /** The texts that are never dropped: the task message, the task's files, the knowledge base. */
  fixedTexts: readonly string[];
  /** The most bytes one token stands for; undefined: no bound known, nothing is refused here. */
  maxBytesPerToken: number | undefined;
  contextSize: number;
  /** Tokens kept for the answer. */
  reserve: number;
  /** What `maxBytesPerToken` is, for the message (default: the longest token of the model's vocabulary). */
  boundSource?: string;
}

/**
 * More bytes than any token of a real vocabulary stands for (the longest pieces of Llama, Qwen and
 * DeepSeek vocabularies are far shorter): a bound that holds before the model, and so its vocabulary,
 * is loaded.
 */
export const MAX_TOKEN_BYTES_ANY_MODEL = 1024;

/** Throws {@link ContextOverflowError} when the fixed parts cannot fit whatever their text. */
export function refuseOversizedBySize(input: SizeBoundInput): void {
  const { maxBytesPerToken, contextSize, reserve } = input;
  if (maxBytesPerToken === undefined || maxBytesPerToken < 1) return;
  let bytes = 0;
  for (const text of input.fixedTexts) bytes += Buffer.byteLength(text);
  const atLeast = Math.ceil(bytes / maxBytesPerToken);
  const budget = contextSize - reserve;
  if (atLeast <= budget) return;
  const needed = atLeast + reserve;
  throw new ContextOverflowError(
    `The task does not fit the context window: its files, the task and the knowledge base are ${bytes} bytes, at least ${atLeast} tokens even at ${maxBytesPerToken} bytes per token ` +
      `(${input.boundSource ?? "the longest token of the model's vocabulary"}), and ${reserve} more are reserved for the answer (num_predict), but the window is ${contextSize} tokens. ` +
      `Refused by its size before tokenizing. Shorten the objective or the files, or raise options.num_ctx to at least ${needed}.`,
    {
      refused_by: "size",
      bytes,
      max_token_bytes: maxBytesPerToken,
      at_least_tokens: atLeast,
      num_predict: reserve,
      num_ctx: contextSize,
      needed,
    },
  );
}
