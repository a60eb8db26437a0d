import type { ServerResponse } from "node:http";
import type { ChatMessage, JsonSchema } from "../../backends/types.js";
import { HttpError, readJsonBody, sendJson, sendOllamaError } from "../http-io.js";
import { noteRequest } from "../request-log.js";
import { runGeneration, samplingFromOllamaOptions, type GenerationOutcome } from "../generation.js";
import type { ModelHost } from "../model-host.js";
import { NdjsonWriter } from "../ndjson.js";
import {
  createdAt,
  disconnectSignal,
  ensureServedModel,
  failureStatus,
  keepAliveMs,
  type RouteHandler,
} from "../route-context.js";
import {
  ChatRequestSchema,
  GenerateRequestSchema,
  requireModelName,
  validate,
  type ChatRequest,
} from "../validation.js";

/** `POST /api/chat`: the next assistant message, streamed as NDJSON unless `stream` is false. */
export const chat: RouteHandler = async (request, response, { modelHost }) => {
  const body = validate(ChatRequestSchema, await readJsonBody(request));
  const model = requireModelName(body.model);
  ensureServedModel(modelHost, model);
  noteRequest(response, { model });
  if (body.tools && body.tools.length > 0)
    throw new HttpError(400, `"${model}" does not support tools (builder serve has no tool calling)`);
  rejectThinking(model, body.think);
  const messages = chatMessages(body.messages ?? [], model);
  const keepAlive = keepAliveMs(body.keep_alive);
  const wrap = (content: string): Record<string, unknown> => ({
    model,
    created_at: createdAt(),
    message: { role: "assistant", content },
  });
  if (messages.length === 0) {
    await loadOrUnload(modelHost, keepAlive, response, wrap(""));
    return;
  }
  await generateAndRespond(modelHost, response, {
    stream: body.stream ?? true,
    piece: (text) => ({ ...wrap(text), done: false }),
    final: (outcome, streamed) => ({ ...wrap(streamed ? "" : outcome.text), ...doneFields(outcome) }),
    job: {
      messages,
      format: format(body.format),
      sampling: samplingFromOllamaOptions(body.options),
      keepAliveMs: keepAlive,
    },
  });
};

/** `POST /api/generate`: a completion of `prompt` (with the model's chat template), streamed unless `stream` is false. */
export const generate: RouteHandler = async (request, response, { modelHost }) => {
  const body = validate(GenerateRequestSchema, await readJsonBody(request));
  const model = requireModelName(body.model);
  ensureServedModel(modelHost, model);
  noteRequest(response, { model });
  if (body.raw)
    throw new HttpError(
      400,
      "raw mode is not supported by builder serve: prompts are always rendered with the model's chat template",
    );
  if (body.template)
    throw new HttpError(400, "template is not supported by builder serve: the model's own chat template is used");
  if (body.suffix) throw new HttpError(400, `"${model}" does not support insert`);
  if (body.images && body.images.length > 0) throw new HttpError(400, `"${model}" does not support images`);
  if (body.context && body.context.length > 0)
    throw new HttpError(
      400,
      "context is not supported (it is deprecated in Ollama): send the conversation to /api/chat as messages",
    );
  rejectThinking(model, body.think);
  const keepAlive = keepAliveMs(body.keep_alive);
  const wrap = (text: string): Record<string, unknown> => ({ model, created_at: createdAt(), response: text });
  if (!body.prompt) {
    await loadOrUnload(modelHost, keepAlive, response, wrap(""));
    return;
  }
  const messages: ChatMessage[] = body.system ? [{ role: "system", content: body.system }] : [];
  messages.push({ role: "user", content: body.prompt });
  await generateAndRespond(modelHost, response, {
    stream: body.stream ?? true,
    piece: (text) => ({ ...wrap(text), done: false }),
    final: (outcome, streamed) => ({ ...wrap(streamed ? "" : outcome.text), ...doneFields(outcome) }),
    job: {
      messages,
      format: format(body.format),
      sampling: samplingFromOllamaOptions(body.options),
      keepAliveMs: keepAlive,
    },
  });
};

interface Exchange {
  stream: boolean;
  piece: (text: string) => Record<string, unknown>;
  final: (outcome: GenerationOutcome, streamed: boolean) => Record<string, unknown>;
  job: Omit<Parameters<typeof runGeneration>[1], "signal" | "onText">;
}

/** Runs the generation and answers as Ollama does: NDJSON pieces then the final counters, or one object. */
async function generateAndRespond(modelHost: ModelHost, response: ServerResponse, exchange: Exchange): Promise<void> {
  const writer = new NdjsonWriter(response);
  const signal = disconnectSignal(response);
  try {
    const outcome = await runGeneration(modelHost, {
      ...exchange.job,
      signal,
      onText: exchange.stream ? (text) => writer.write(exchange.piece(text)) : undefined,
    });
    noteRequest(response, { promptTokens: outcome.promptTokens, generatedTokens: outcome.generatedTokens });
    if (outcome.aborted) return;
    if (exchange.stream) {
      writer.write(exchange.final(outcome, true));
      writer.end();
    } else {
      sendJson(response, 200, exchange.final(outcome, false));
    }
  } catch (error) {
    const { status, message } = failureStatus(error);
    if (exchange.stream) writer.fail(status, message);
    else sendOllamaError(response, status, message);
  }
}

/** An empty prompt loads the model; with `keep_alive: 0` it unloads it (Ollama's documented behaviour). */
async function loadOrUnload(
  modelHost: ModelHost,
  keepAlive: number | undefined,
  response: ServerResponse,
  base: Record<string, unknown>,
): Promise<void> {
  if (keepAlive === 0) {
    await modelHost.unload();
    sendJson(response, 200, { ...base, done_reason: "unload", done: true });
    return;
  }
  const lease = await modelHost.lease();
  lease.release(keepAlive);
  sendJson(response, 200, { ...base, done_reason: "load", done: true });
}

function doneFields(outcome: GenerationOutcome): Record<string, unknown> {
  return {
    done_reason: outcome.doneReason,
    done: true,
    total_duration: outcome.totalNs,
    load_duration: outcome.loadNs,
    prompt_eval_count: outcome.promptTokens,
    prompt_eval_duration: outcome.promptEvalNs,
    eval_count: outcome.generatedTokens,
    eval_duration: outcome.evalNs,
  };
}

function format(value: ChatRequest["format"]): "json" | JsonSchema | undefined {
  if (value === "json") return "json";
  if (value && typeof value === "object") return value;
  return undefined;
}

function rejectThinking(model: string, think: boolean | string | null | undefined): void {
  if (think === true || (typeof think === "string" && think !== ""))
    throw new HttpError(400, `"${model}" does not support thinking`);
}

function chatMessages(messages: NonNullable<ChatRequest["messages"]>, model: string): ChatMessage[] {
  return messages.map((message, index) => {
    if (message.images && message.images.length > 0)
      throw new HttpError(400, `"${model}" does not support images (messages[${index}].images)`);
    if (message.role === "system" || message.role === "user" || message.role === "assistant")
      return { role: message.role, content: message.content ?? "" };
    if (message.role === "tool")
      throw new HttpError(
        400,
        `messages[${index}]: tool messages are not supported by builder serve (no tool calling)`,
      );
    throw new HttpError(400, `messages[${index}].role "${message.role}" is not one of system, user, assistant`);
  });
}
