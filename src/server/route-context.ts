import type { IncomingMessage, ServerResponse } from "node:http";
import { BuilderError } from "../errors/errors.js";
import { HttpError } from "./http-io.js";
import type { ModelHost } from "./model-host.js";
import { parseKeepAlive } from "../format/keep-alive.js";

/** What every route handler gets. */
export interface RouteContext {
  modelHost: ModelHost;
}

/** A route handler: reads the request, writes the response. Thrown errors become error answers. */
export type RouteHandler = (request: IncomingMessage, response: ServerResponse, context: RouteContext) => Promise<void>;

/** Which API a path belongs to, for the shape of its error bodies. */
export type ApiFamily = "ollama" | "openai";

/** 404 with Ollama's wording when `requested` is not the served model. */
export function ensureServedModel(modelHost: ModelHost, requested: string): void {
  if (!modelHost.matches(requested))
    throw new HttpError(404, `model '${requested}' not found (builder serve serves '${modelHost.name}')`);
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

/** The status and message an error is answered with. */
export function failureStatus(error: unknown): { status: number; message: string } {
  if (error instanceof HttpError) return { status: error.status, message: error.message };
  if (error instanceof BuilderError) return { status: 500, message: error.message };
  return { status: 500, message: error instanceof Error ? error.message : String(error) };
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
