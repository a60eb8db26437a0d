import { z } from "zod";

/**
 * Replies of OpenAI-compatible servers (OpenAI's chat-completions streaming format, with llama.cpp's
 * server and vLLM additions), as far as Builder reads them. Unread fields may be anything.
 */

const count = z.number().nonnegative();

/** llama.cpp's server adds its own `timings` to the last chunk (tools/server/README.md). */
export const LlamaCppTimingsSchema = z.looseObject({
  prompt_n: count.optional(),
  prompt_ms: count.optional(),
  predicted_n: count.optional(),
  predicted_ms: count.optional(),
});

/** One `data:` event of a streamed `POST /v1/chat/completions` (the last before `[DONE]` may have no choices, only usage). */
export const ChatCompletionChunkSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        delta: z.looseObject({ content: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
      }),
    )
    .optional(),
  usage: z.looseObject({ prompt_tokens: count.optional(), completion_tokens: count.optional() }).nullish(),
  timings: LlamaCppTimingsSchema.optional(),
  /** Some servers report a failure inside the stream. */
  error: z.union([z.string(), z.looseObject({ message: z.string().optional() })]).optional(),
});
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;

/** `GET /v1/models`: vLLM adds `max_model_len`, llama.cpp's server `meta.n_ctx_train`. */
export const ModelListSchema = z.looseObject({
  data: z.array(
    z.looseObject({
      id: z.string(),
      max_model_len: z.number().int().positive().optional(),
      meta: z.looseObject({ n_ctx_train: z.number().int().positive().optional() }).nullish(),
    }),
  ),
});
export type ModelList = z.infer<typeof ModelListSchema>;

/** An error answer: `{"error": {"message"}}` (OpenAI, llama.cpp), `{"error": "..."}` or `{"message"}`. */
export const ErrorBodySchema = z.looseObject({
  error: z.union([z.string(), z.looseObject({ message: z.string().optional() })]).optional(),
  message: z.string().optional(),
});

/**
 * llama.cpp's server `GET /props`: `default_generation_settings.n_ctx` is the context each slot has
 * (tools/server/README.md). Other servers have no such route.
 */
export const LlamaCppPropsSchema = z.looseObject({
  default_generation_settings: z.looseObject({ n_ctx: z.number().int().positive().optional() }).optional(),
});
