import { z } from "zod";
import { describeIssues } from "../errors/describe-issues.js";
import { HttpError } from "./http-io.js";

const int = z.number().int();

/**
 * Ollama's documented `options`. Each known option must have its documented type (a wrong type is a
 * 400, as in Ollama); unknown options pass, and the server ignores them as Ollama does.
 */
export const OllamaOptionsSchema = z
  .object({
    num_keep: int,
    seed: int,
    num_predict: int,
    top_k: int,
    top_p: z.number(),
    min_p: z.number(),
    typical_p: z.number(),
    repeat_last_n: int,
    temperature: z.number(),
    repeat_penalty: z.number(),
    presence_penalty: z.number(),
    frequency_penalty: z.number(),
    mirostat: int,
    mirostat_tau: z.number(),
    mirostat_eta: z.number(),
    tfs_z: z.number(),
    penalize_newline: z.boolean(),
    stop: z.array(z.string()),
    numa: z.boolean(),
    num_ctx: int,
    num_batch: int,
    num_gpu: int,
    main_gpu: int,
    low_vram: z.boolean(),
    f16_kv: z.boolean(),
    vocab_only: z.boolean(),
    use_mmap: z.boolean(),
    use_mlock: z.boolean(),
    num_thread: int,
  })
  .partial()
  .passthrough();

export type OllamaOptions = z.infer<typeof OllamaOptionsSchema>;

/** `format`: "json", a JSON schema object, or empty for free text. */
const FormatSchema = z
  .union([z.literal("json"), z.literal(""), z.record(z.string(), z.unknown())])
  .nullable()
  .optional();
const KeepAliveSchema = z.union([z.number(), z.string()]).nullable().optional();

const OllamaMessageSchema = z
  .object({
    role: z.string(),
    content: z.string().optional(),
    images: z.array(z.string()).nullable().optional(),
    tool_calls: z.array(z.unknown()).nullable().optional(),
  })
  .passthrough();

/** `POST /api/chat`. */
export const ChatRequestSchema = z
  .object({
    model: z.string().optional(),
    messages: z.array(OllamaMessageSchema).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    format: FormatSchema,
    options: OllamaOptionsSchema.nullable().optional(),
    keep_alive: KeepAliveSchema,
    tools: z.array(z.unknown()).nullable().optional(),
    think: z.union([z.boolean(), z.string()]).nullable().optional(),
    /** llama.cpp server's GBNF `grammar` (Builder's runs constrain their answers with it). */
    grammar: z.string().nullable().optional(),
  })
  .passthrough();

export type ChatRequest = z.infer<typeof ChatRequestSchema>;

/** `POST /api/generate`. */
export const GenerateRequestSchema = z
  .object({
    model: z.string().optional(),
    prompt: z.string().optional(),
    suffix: z.string().optional(),
    system: z.string().optional(),
    template: z.string().optional(),
    context: z.array(z.number()).nullable().optional(),
    raw: z.boolean().optional(),
    images: z.array(z.string()).nullable().optional(),
    stream: z.boolean().nullable().optional(),
    format: FormatSchema,
    options: OllamaOptionsSchema.nullable().optional(),
    keep_alive: KeepAliveSchema,
    think: z.union([z.boolean(), z.string()]).nullable().optional(),
    grammar: z.string().nullable().optional(),
  })
  .passthrough();

export type GenerateRequest = z.infer<typeof GenerateRequestSchema>;

/** `POST /api/show` (`name` is the older spelling of `model`). */
export const ShowRequestSchema = z
  .object({ model: z.string().optional(), name: z.string().optional(), verbose: z.boolean().optional() })
  .passthrough();

const OpenAIContentPartSchema = z.object({ type: z.string(), text: z.string().optional() }).passthrough();

/** `POST /v1/chat/completions`. */
export const OpenAIChatRequestSchema = z
  .object({
    model: z.string().optional(),
    messages: z.array(
      z
        .object({
          role: z.string(),
          content: z
            .union([z.string(), z.array(OpenAIContentPartSchema)])
            .nullable()
            .optional(),
        })
        .passthrough(),
    ),
    stream: z.boolean().nullable().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).passthrough().nullable().optional(),
    max_tokens: int.positive().nullable().optional(),
    max_completion_tokens: int.positive().nullable().optional(),
    temperature: z.number().nullable().optional(),
    top_p: z.number().nullable().optional(),
    top_k: int.nullable().optional(),
    repeat_penalty: z.number().nullable().optional(),
    frequency_penalty: z.number().nullable().optional(),
    presence_penalty: z.number().nullable().optional(),
    seed: int.nullable().optional(),
    stop: z
      .union([z.string(), z.array(z.string())])
      .nullable()
      .optional(),
    n: int.nullable().optional(),
    tools: z.array(z.unknown()).nullable().optional(),
    grammar: z.string().nullable().optional(),
    response_format: z
      .object({
        type: z.enum(["text", "json_object", "json_schema"]),
        json_schema: z
          .object({
            name: z.string().optional(),
            schema: z.record(z.string(), z.unknown()).optional(),
            strict: z.boolean().nullable().optional(),
          })
          .passthrough()
          .optional(),
      })
      .passthrough()
      .nullable()
      .optional(),
  })
  .passthrough();

export type OpenAIChatRequest = z.infer<typeof OpenAIChatRequestSchema>;

/** `POST /tokenize` (llama.cpp server's, with Builder's `model` and `messages`: a chat rendered with the model's template). */
export const TokenizeRequestSchema = z
  .object({
    model: z.string().optional(),
    content: z.string().optional(),
    messages: z.array(z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() })).optional(),
    add_special: z.boolean().optional(),
    options: z.record(z.string(), z.unknown()).nullable().optional(),
  })
  .passthrough();

/** Validates a parsed body: a body that is not an object, or a field of the wrong type, is a 400 naming the field. */
export function validate<T>(schema: z.ZodType<T>, body: unknown): T {
  if (body === null || typeof body !== "object" || Array.isArray(body))
    throw new HttpError(400, "request body must be a JSON object");
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw new HttpError(400, `invalid request: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The requested model name; a missing one is Ollama's "model is required". */
export function requireModelName(model: string | undefined): string {
  if (!model) throw new HttpError(400, "model is required");
  return model;
}
