import { HttpError, readJsonBody, sendJson } from "../http-io.js";
import { cappedNumCtx, clientLabel, servedModel, type RouteHandler } from "../route-context.js";
import { requireModelName, TokenizeRequestSchema, validate } from "../validation.js";
import { z } from "zod";

/**
 * `POST /tokenize`, as llama.cpp's server has it: `content` → `tokens`. Builder's extension: `messages`
 * (a chat rendered with the model's template, the answer's opening included) → `count`, the exact
 * prompt size a run budgets with. `options.num_ctx` is the window the caller will ask for.
 */
export const tokenize: RouteHandler = async (request, response, context) => {
  const body = validate(TokenizeRequestSchema, await readJsonBody(request));
  const hosted = await servedModel(context, requireModelName(body.model));
  if ((body.content === undefined) === (body.messages === undefined))
    throw new HttpError(400, "give either content (text) or messages (a chat) to tokenize");
  const numCtx = cappedNumCtx(context, numCtxOf(body.options));
  const lease = await context.modelHost.lease(hosted, { numCtx, client: clientLabel(request, context) });
  try {
    if (body.messages !== undefined) {
      sendJson(response, 200, { count: await lease.engine.countPromptTokens(body.messages) });
      return;
    }
    const tokens = lease.engine.model.tokenize(body.content ?? "", body.add_special === true);
    sendJson(response, 200, { tokens: [...tokens].map(Number), count: tokens.length });
  } finally {
    lease.release();
  }
};

function numCtxOf(options: unknown): number | undefined {
  const parsed = z
    .object({ num_ctx: z.number().int().positive().optional() })
    .passthrough()
    .safeParse(options ?? {});
  return parsed.success ? parsed.data.num_ctx : undefined;
}

/**
 * `POST /builder/shutdown` (the owner-only socket only): stops the host, at once or, with
 * `{"drain": true}`, once its running requests end (`builder serve` taking over from a background host).
 */
export const shutdown: RouteHandler = async (request, response, context) => {
  if (context.transport !== "socket" || !context.host)
    throw new HttpError(404, "404 page not found: /builder/shutdown is not part of the API builder serve offers");
  const body = (await readJsonBody(request).catch(() => ({}))) as { drain?: unknown };
  sendJson(response, 200, { stopping: true, pid: process.pid, drain: body.drain === true });
  context.host.shutdown(body.drain === true);
};
