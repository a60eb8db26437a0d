import { randomBytes } from "node:crypto";
import type { ChatMessage, JsonSchema } from "../../backends/types.js";
import { getLogger } from "../../telemetry/logger.js";
import { HttpError, openaiErrorBody, readJsonBody, sendJson } from "../http-io.js";
import { noteRequest } from "../request-log.js";
import { runGeneration, type GenerationOutcome, type RequestSampling } from "../generation.js";
import type { ModelHost } from "../model-host.js";
import { clientLabel, disconnectSignal, failureStatus, servedModel, type RouteHandler } from "../route-context.js";
import { SseWriter } from "../sse.js";
import { OpenAIChatRequestSchema, requireModelName, validate, type OpenAIChatRequest } from "../validation.js";

/** `POST /v1/chat/completions`: OpenAI's chat API, streamed as server-sent events when `stream` is true. */
export const chatCompletions: RouteHandler = async (request, response, context) => {
  const body = validate(OpenAIChatRequestSchema, await readJsonBody(request));
  const model = requireModelName(body.model);
  const hosted = await servedModel(context, model);
  noteRequest(response, { model });
  if (body.tools && body.tools.length > 0)
    throw new HttpError(400, "tools are not supported by builder serve (no tool calling)");
  if (body.n !== null && body.n !== undefined && body.n !== 1)
    throw new HttpError(400, "n must be 1: builder serve generates one choice per request");
  if (body.stop !== null && body.stop !== undefined && body.stop.length > 0)
    getLogger().warn("stop sequences are not supported by builder serve and were ignored");
  const messages = openaiMessages(body.messages);
  const id = `chatcmpl-${randomBytes(12).toString("hex")}`;
  const created = Math.floor(Date.now() / 1000);
  const envelope = { id, created, model, system_fingerprint: "fp_builder" };
  const stream = body.stream === true;
  const includeUsage = body.stream_options?.include_usage === true;
  const writer = new SseWriter(response);
  const signal = disconnectSignal(response);
  try {
    const outcome = await runGeneration(context.modelHost, hosted, {
      messages,
      format: responseFormat(body.response_format),
      grammar: body.grammar ?? undefined,
      sampling: sampling(body),
      client: clientLabel(request, context),
      windowCap: context.windowCap,
      signal,
      onText: stream
        ? (text) =>
            writer.write({
              ...envelope,
              object: "chat.completion.chunk",
              choices: [{ index: 0, delta: { role: "assistant", content: text }, finish_reason: null }],
            })
        : undefined,
    });
    noteRequest(response, { promptTokens: outcome.promptTokens, generatedTokens: outcome.generatedTokens });
    if (outcome.aborted) return;
    if (stream) {
      writer.write({
        ...envelope,
        object: "chat.completion.chunk",
        choices: [{ index: 0, delta: {}, finish_reason: outcome.doneReason }],
      });
      if (includeUsage)
        writer.write({ ...envelope, object: "chat.completion.chunk", choices: [], usage: usage(outcome) });
      writer.done();
      return;
    }
    sendJson(response, 200, {
      ...envelope,
      object: "chat.completion",
      choices: [{ index: 0, message: { role: "assistant", content: outcome.text }, finish_reason: outcome.doneReason }],
      usage: usage(outcome),
      timings: outcome.timings,
    });
  } catch (error) {
    const { status, message } = failureStatus(error);
    if (stream) writer.fail(status, message);
    else sendJson(response, status, openaiErrorBody(status, message));
  }
};

/** `GET /v1/models`: the known models, as OpenAI lists models. */
export const models: RouteHandler = async (_request, response, { modelHost }) => {
  sendJson(response, 200, { object: "list", data: modelObjects(modelHost) });
};

/** OpenAI's model objects, with vLLM's `max_model_len`: the window a request gets without num_ctx, for clients that read it. */
function modelObjects(modelHost: ModelHost): Array<Record<string, unknown>> {
  return modelHost.models.flatMap((model) => {
    if (!model.facts) return [];
    return [
      {
        id: model.name,
        object: "model",
        created: Math.floor(model.facts.modifiedAt.getTime() / 1000),
        owned_by: "builder",
        max_model_len: modelHost.residencyOf(model)?.contextSize ?? model.facts.contextSize,
      },
    ];
  });
}

function usage(outcome: GenerationOutcome): { prompt_tokens: number; completion_tokens: number; total_tokens: number } {
  return {
    prompt_tokens: outcome.promptTokens,
    completion_tokens: outcome.generatedTokens,
    total_tokens: outcome.promptTokens + outcome.generatedTokens,
  };
}

function sampling(body: OpenAIChatRequest): RequestSampling {
  const optional = (value: number | null | undefined): number | undefined => (value === null ? undefined : value);
  return {
    temperature: optional(body.temperature),
    topP: optional(body.top_p),
    topK: optional(body.top_k),
    repeatPenalty: optional(body.repeat_penalty),
    seed: optional(body.seed),
    numPredict: optional(body.max_completion_tokens) ?? optional(body.max_tokens),
  };
}

function responseFormat(format: OpenAIChatRequest["response_format"]): "json" | JsonSchema | undefined {
  if (!format || format.type === "text") return undefined;
  if (format.type === "json_object") return "json";
  const schema = format.json_schema?.schema;
  if (!schema)
    throw new HttpError(400, "response_format.json_schema.schema is required when response_format.type is json_schema");
  return schema;
}

function openaiMessages(messages: OpenAIChatRequest["messages"]): ChatMessage[] {
  return messages.map((message, index) => {
    const role = message.role === "developer" ? "system" : message.role;
    if (role !== "system" && role !== "user" && role !== "assistant") {
      throw new HttpError(
        400,
        `messages[${index}].role "${message.role}" is not supported by builder serve (use system, developer, user or assistant)`,
      );
    }
    return { role, content: textContent(message.content, index) };
  });
}

function textContent(content: OpenAIChatRequest["messages"][number]["content"], index: number): string {
  if (content === null || content === undefined) return "";
  if (typeof content === "string") return content;
  return content
    .map((part, partIndex) => {
      if (part.type !== "text")
        throw new HttpError(
          400,
          `messages[${index}].content[${partIndex}]: ${part.type} parts are not supported by builder serve (text only)`,
        );
      return part.text ?? "";
    })
    .join("\n");
}
