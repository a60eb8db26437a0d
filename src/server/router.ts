import type { IncomingMessage, ServerResponse } from "node:http";
import { getLogger } from "../telemetry/logger.js";
import { openaiErrorBody, sendJson } from "./http-io.js";
import { requestFacts, requestLine } from "./request-log.js";
import { failureStatus, type ApiFamily, type RouteContext, type RouteHandler } from "./route-context.js";
import { chat, generate } from "./routes/ollama-generate.js";
import { ps, show, tags, unsupportedModelManagement, version } from "./routes/ollama-info.js";
import { chatCompletions, models } from "./routes/openai.js";
import { shutdown, tokenize } from "./routes/host.js";

/** Every route: "METHOD /path" → handler. */
const ROUTES: ReadonlyMap<string, RouteHandler> = new Map([
  ["GET /api/version", version],
  ["GET /api/tags", tags],
  ["POST /api/show", show],
  ["GET /api/ps", ps],
  ["POST /api/generate", generate],
  ["POST /api/chat", chat],
  ["POST /api/create", unsupportedModelManagement],
  ["POST /api/pull", unsupportedModelManagement],
  ["POST /api/push", unsupportedModelManagement],
  ["POST /api/copy", unsupportedModelManagement],
  ["DELETE /api/delete", unsupportedModelManagement],
  ["POST /v1/chat/completions", chatCompletions],
  ["GET /v1/models", models],
  ["POST /tokenize", tokenize],
  ["POST /builder/shutdown", shutdown],
]);

const PATHS = new Set([...ROUTES.keys()].map((key) => key.slice(key.indexOf(" ") + 1)));

/**
 * Dispatches one request. Errors never escape: each becomes an error answer in the format of the API
 * that was called (Ollama's `{"error": "..."}` or OpenAI's `{"error": {"message", "type", …}}`).
 */
export async function dispatch(
  request: IncomingMessage,
  response: ServerResponse,
  context: RouteContext,
): Promise<void> {
  const started = performance.now();
  const path = new URL(request.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "") || "/";
  const method = request.method ?? "GET";
  const family: ApiFamily = path.startsWith("/v1/") ? "openai" : "ollama";
  try {
    if (path === "/" && (method === "GET" || method === "HEAD")) {
      // Tools probe `GET /` for this exact text to see that an Ollama-compatible server is up.
      response.writeHead(200, { "content-type": "text/plain; charset=utf-8", "x-served-by": "builder serve" });
      response.end(method === "HEAD" ? undefined : "Ollama is running");
      return;
    }
    const handler = ROUTES.get(`${method === "HEAD" ? "GET" : method} ${path}`);
    if (handler) await handler(request, response, context);
    else if (PATHS.has(path)) sendError(response, family, 405, `method ${method} not allowed on ${path}`);
    else sendError(response, family, 404, `404 page not found: ${path} is not part of the API builder serve offers`);
  } catch (error) {
    const { status, message, extra } = failureStatus(error);
    if (status >= 500) getLogger().error({ err: error, path }, "request failed");
    if (!response.headersSent) sendError(response, family, status, message, extra);
    else if (!response.writableEnded) response.end();
  } finally {
    // One line per request at info, as Ollama logs one: a slow or stuck request is visible on the server.
    const ms = Math.round(performance.now() - started);
    const facts = requestFacts(response);
    getLogger().info(
      {
        method,
        path,
        status: response.statusCode,
        model: facts.model,
        prompt_tokens: facts.promptTokens,
        generated_tokens: facts.generatedTokens,
        ms,
      },
      requestLine(method, path, response.statusCode, ms, facts),
    );
  }
}

/** Each API's error body: OpenAI's `{ error: { message, type, … } }`; Ollama's `{ error }`, with any figures beside it. */
const ERROR_BODIES: Readonly<
  Record<ApiFamily, (status: number, message: string, extra: Record<string, unknown>) => unknown>
> = {
  openai: (status, message) => openaiErrorBody(status, message),
  ollama: (_status, message, extra) => ({ error: message, ...extra }),
};

function sendError(
  response: ServerResponse,
  family: ApiFamily,
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
): void {
  sendJson(response, status, ERROR_BODIES[family](status, message, extra));
}
