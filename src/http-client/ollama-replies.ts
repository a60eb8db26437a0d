import { z } from "zod";

/**
 * Ollama's replies, as far as Builder reads them (docs/api.md of ollama/ollama). Every field Builder
 * does not need may be absent or of any type, so a newer server's extra fields never break a client;
 * a field Builder reads must have the documented type, or the reply is refused as malformed.
 */

/** Nanosecond durations and token counts. */
const count = z.number().nonnegative();

/** One line of a streamed `POST /api/chat`; the final one has `done: true` and the counters (its `message` may be absent). */
export const OllamaChatChunkSchema = z.looseObject({
  model: z.string().optional(),
  message: z.looseObject({ role: z.string().optional(), content: z.string().optional() }).optional(),
  done: z.boolean(),
  done_reason: z.string().optional(),
  prompt_eval_count: count.optional(),
  prompt_eval_duration: count.optional(),
  eval_count: count.optional(),
  eval_duration: count.optional(),
  load_duration: count.optional(),
  total_duration: count.optional(),
});
export type OllamaChatChunk = z.infer<typeof OllamaChatChunkSchema>;

const ModelDetailsSchema = z.looseObject({
  family: z.string().optional(),
  parameter_size: z.string().optional(),
  quantization_level: z.string().optional(),
});

/** What /api/tags and /api/ps both say of a model. */
const ListedModelSchema = z.looseObject({
  name: z.string().optional(),
  model: z.string().optional(),
  size: count.optional(),
});

/** `GET /api/tags`. */
export const OllamaTagsSchema = z.looseObject({
  models: z.array(ListedModelSchema.extend({ details: ModelDetailsSchema.optional() })),
});
export type OllamaTags = z.infer<typeof OllamaTagsSchema>;

/** `POST /api/show`: `model_info` is flat GGUF metadata (numbers, strings, arrays). */
export const OllamaShowSchema = z.looseObject({
  parameters: z.string().optional(),
  details: ModelDetailsSchema.optional(),
  model_info: z.record(z.string(), z.unknown()).optional(),
});
export type OllamaShow = z.infer<typeof OllamaShowSchema>;

/** `GET /api/version`. */
export const OllamaVersionSchema = z.looseObject({ version: z.string() });

/** `POST /api/create` (and pull, push): each status line, the last one `success`. */
export const OllamaStatusSchema = z.looseObject({ status: z.string() });

/**
 * `GET /api/ps`: the loaded models. `size_vram` is left out by older servers when the model is wholly
 * in system memory; `context_length` (the window the model was loaded with) only newer ones send
 * (ProcessModelResponse in ollama/ollama api/types.go).
 */
export const OllamaPsSchema = z.looseObject({
  models: z.array(
    ListedModelSchema.extend({
      size_vram: count.optional(),
      context_length: z.number().int().positive().optional(),
    }),
  ),
});
export type OllamaPs = z.infer<typeof OllamaPsSchema>;
