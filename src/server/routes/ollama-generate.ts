import type { IncomingMessage, ServerResponse } from "node:http";
import type { ChatMessage, JsonSchema } from "../../backends/types.js";
import { HttpError, readJsonBody, sendJson } from "../http-io.js";
import { noteRequest } from "../request-log.js";
import {
  loadFromOllamaOptions,
  runGeneration,
  samplingFromOllamaOptions,
  type GenerationOutcome,
} from "../generation.js";
import type { HostedModel, LoadSettings } from "../model-host.js";
import { NdjsonWriter } from "../ndjson.js";
import {
  cappedNumCtx,
  clientLabel,
  createdAt,
  disconnectSignal,
  failureStatus,
  keepAliveMs,
  servedModel,
  type RouteContext,
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
export const chat: RouteHandler = async (request, response, context) => {
  const body = validate(ChatRequestSchema, await readJsonBody(request));
  const model = requireModelName(body.model);
  const hosted = await servedModel(context, model);
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
    await loadOrUnload({ context, request, hosted, options: body.options }, keepAlive, response, wrap(""));
    return;
  }
  await generateAndRespond({ context, request, hosted, options: body.options }, response, {
    stream: body.stream ?? true,
    piece: (text) => ({ ...wrap(text), done: false }),
    final: (outcome, streamed) => ({ ...wrap(streamed ? "" : outcome.text), ...doneFields(outcome) }),
    job: {
      messages,
      format: format(body.format),
      grammar: body.grammar ?? undefined,
      sampling: samplingFromOllamaOptions(body.options),
      load: requestLoad(context, body.options),
      keepAliveMs: keepAlive,
      client: clientLabel(request, context),
      windowCap: context.windowCap,
    },
  });
};

/** `POST /api/generate`: a completion of `prompt` (with the model's chat template), streamed unless `stream` is false. */
export const generate: RouteHandler = async (request, response, context) => {
  const body = validate(GenerateRequestSchema, await readJsonBody(request));
  const model = requireModelName(body.model);
  const hosted = await servedModel(context, model);
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
    await loadOrUnload({ context, request, hosted, options: body.options }, keepAlive, response, wrap(""));
    return;
  }
  const messages: ChatMessage[] = body.system ? [{ role: "system", content: body.system }] : [];
  messages.push({ role: "user", content: body.prompt });
  await generateAndRespond({ context, request, hosted, options: body.options }, response, {
    stream: body.stream ?? true,
    piece: (text) => ({ ...wrap(text), done: false }),
    final: (outcome, streamed) => ({ ...wrap(streamed ? "" : outcome.text), ...doneFields(outcome) }),
    job: {
      messages,
      format: format(body.format),
      grammar: body.grammar ?? undefined,
      sampling: samplingFromOllamaOptions(body.options),
      load: requestLoad(context, body.options),
      keepAliveMs: keepAlive,
      client: clientLabel(request, context),
      windowCap: context.windowCap,
    },
  });
};

/** The request being answered: its route context, the HTTP request, the model it names and its `options`. */
interface Target {
  context: RouteContext;
  request: IncomingMessage;
  hosted: HostedModel;
  options: Record<string, unknown> | null | undefined;
}

interface Exchange {
  stream: boolean;
  piece: (text: string) => Record<string, unknown>;
  final: (outcome: GenerationOutcome, streamed: boolean) => Record<string, unknown>;
  job: Omit<Parameters<typeof runGeneration>[2], "signal" | "onText">;
}

/** How often a heartbeat piece goes out while a request waits or evaluates its prompt (`X-Builder-Heartbeat`). */
const HEARTBEAT_MS = 1000;

/**
 * Runs the generation and answers as Ollama does: NDJSON pieces then the final counters, or one
 * object. A streamed request that asks for it (`X-Builder-Heartbeat: 1`) gets a piece with empty
 * content every second nothing else was sent, so its client can tell a waiting request from a hung host.
 */
async function generateAndRespond(target: Target, response: ServerResponse, exchange: Exchange): Promise<void> {
  const writer = new NdjsonWriter(response);
  const signal = disconnectSignal(response);
  let lastWrite = Date.now();
  const send = (value: unknown): void => {
    lastWrite = Date.now();
    writer.write(value);
  };
  const wantsBeat = exchange.stream && target.request.headers["x-builder-heartbeat"] !== undefined;
  const beat = wantsBeat
    ? setInterval(() => {
        if (Date.now() - lastWrite >= HEARTBEAT_MS - 100) send(exchange.piece(""));
      }, HEARTBEAT_MS)
    : undefined;
  try {
    const outcome = await runGeneration(target.context.modelHost, target.hosted, {
      ...exchange.job,
      signal,
      onText: exchange.stream ? (text) => send(exchange.piece(text)) : undefined,
    });
    clearInterval(beat);
    noteRequest(response, { promptTokens: outcome.promptTokens, generatedTokens: outcome.generatedTokens });
    if (outcome.aborted) return;
    if (exchange.stream) {
      writer.write(exchange.final(outcome, true));
      writer.end();
    } else {
      sendJson(response, 200, exchange.final(outcome, false));
    }
  } catch (error) {
    clearInterval(beat);
    const { status, message, extra } = failureStatus(error);
    if (exchange.stream) writer.fail(status, message, extra);
    else sendJson(response, status, { error: message, ...extra });
  }
}

/** An empty prompt loads the model; with `keep_alive: 0` it unloads it (Ollama's documented behaviour). */
async function loadOrUnload(
  target: Target,
  keepAlive: number | undefined,
  response: ServerResponse,
  base: Record<string, unknown>,
): Promise<void> {
  const { modelHost } = target.context;
  if (keepAlive === 0) {
    await modelHost.unload(target.hosted);
    sendJson(response, 200, { ...base, done_reason: "unload", done: true });
    return;
  }
  const sampling = samplingFromOllamaOptions(target.options);
  const lease = await modelHost.lease(target.hosted, {
    numCtx: cappedNumCtx(target.context, sampling.numCtx),
    load: requestLoad(target.context, target.options),
    client: clientLabel(target.request, target.context),
  });
  lease.release(keepAlive);
  sendJson(response, 200, {
    ...base,
    done_reason: "load",
    done: true,
    load_duration: Math.round(lease.loadMs * 1e6),
    context_length: lease.engine.contextSize,
  });
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
    timings: outcome.timings,
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

/**
 * The load options a request may set: on the owner-only socket (Builder's commands), the ones it
 * names (a copy loaded with others is reloaded); on builder serve's port, none: there the model loads
 * as `builder serve` was started (--threads, --gpu-layers), whatever a client sends.
 */
function requestLoad(context: RouteContext, options: Record<string, unknown> | null | undefined): LoadSettings {
  return context.transport === "socket" ? loadFromOllamaOptions(options) : {};
}
