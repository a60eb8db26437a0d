import type { IncomingMessage, ServerResponse } from "node:http";
import { BuilderError } from "../errors/errors.js";
import { HttpError } from "./http-io.js";
import type { HostedModel, ModelHost } from "./model-host.js";
import { parseKeepAlive } from "../format/keep-alive.js";

/** What the host process tells its routes about itself (`/api/ps`, `/builder/shutdown`). */
export interface HostControl {
  /** The host's pid, start time, kind (background or `builder serve`), socket and URL. */
  describe(): Record<string, unknown>;
  /** Stops the host: at once (running answers are cut), or once running requests end (`drain`). */
  shutdown(drain: boolean): void;
}

/** What every route handler gets. */
export interface RouteContext {
  modelHost: ModelHost;
  /**
   * How the request came: the owner-only Unix socket (Builder's own commands; models may be named by
   * their GGUF path, and the host may be stopped) or TCP (`builder serve`'s port: names only).
   */
  transport: "socket" | "tcp";
  host?: HostControl;
  /** The largest window a request may ask for here (`builder serve --num-ctx`, on its port only). */
  windowCap?: number;
}

/** A request's num_ctx, at most the route's window cap. */
export function cappedNumCtx(context: RouteContext, numCtx: number | undefined): number | undefined {
  if (numCtx === undefined || numCtx <= 0) return undefined;
  return context.windowCap !== undefined ? Math.min(numCtx, context.windowCap) : numCtx;
}

/** A route handler: reads the request, writes the response. Thrown errors become error answers. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, context: RouteContext) => Promise<void>;

/** Which API a path belongs to, for the shape of its error bodies. */
export type ApiFamily = "ollama" | "openai";

/** The hosted model `requested` names; 404 with Ollama's wording when there is none. */
export async function servedModel(context: RouteContext, requested: string): Promise<HostedModel> {
  const model = await context.modelHost.find(requested, context.transport === "socket");
  if (model) return model;
  const names = context.modelHost.models.map((m) => `'${m.name}'`).join(", ");
  throw new HttpError(404, `model '${requested}' not found (builder serve serves ${names || "no model yet"})`);
}

/** Who sent the request, for `builder ps`: Builder's clients name themselves in `X-Builder-Client`. */
export function clientLabel(request: IncomingMessage, context: RouteContext): string {
  const named = request.headers["x-builder-client"];
  if (typeof named === "string" && named !== "") return named.slice(0, 200);
  const agent = request.headers["user-agent"];
  const via = context.transport === "socket" ? "the host's socket" : (request.socket.remoteAddress ?? "TCP");
  return `${typeof agent === "string" && agent !== "" ? agent.slice(0, 80) : "a client"} via ${via}`;
}

/** Reads `keep_alive`; an unreadable duration is a 400. */
export function keepAliveMs(value: string | number | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = parseKeepAlive(value);
  if (ms === undefined)
    throw new HttpError(
      400,
      `invalid keep_alive ${JSON.stringify(value)}: use seconds (300), a duration ("5m", "1h"), 0 to unload, or a negative value to keep the model loaded`,
    );
  return ms;
}

/**
 * The status and message an error is answered with; a Builder error also gives its code and details
 * (`extra`), so that Builder's own client reports the same error it would have in-process.
 */
export function failureStatus(error: unknown): { status: number; message: string; extra: Record<string, unknown> } {
  if (error instanceof HttpError) return { status: error.status, message: error.message, extra: {} };
  if (error instanceof BuilderError)
    return {
      status: error.code === "CONTEXT_OVERFLOW" ? 400 : 500,
      message: error.message,
      extra: { code: error.code, details: error.details },
    };
  return { status: 500, message: error instanceof Error ? error.message : String(error), extra: {} };
}

/** An AbortSignal that fires when the client goes away before the answer is complete. */
export function disconnectSignal(response: ServerResponse): AbortSignal {
  const controller = new AbortController();
  response.on("close", () => {
    if (!response.writableFinished) controller.abort(new Error("client disconnected"));
  });
  return controller.signal;
}

/** Ollama's `created_at`: the current time, RFC 3339 in UTC. */
export function createdAt(): string {
  return new Date().toISOString();
}
