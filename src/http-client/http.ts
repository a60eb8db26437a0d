/**
 * The one HTTP layer under every model-server client (the Ollama and OpenAI-compatible backends, the
 * admin clients in server-admin): the fetch they all go through, how a failed connection is
 * classified, and the one retry policy. Builder errors are made above it, by whoever knows what the
 * request was for.
 */
import type { z } from "zod";
import { MalformedStreamError } from "../http-client/stream-errors.js";

/** How a connection to a server failed, read from a fetch error's cause chain. */
export type ConnectionFailure = "refused" | "reset" | "unreachable";

const REFUSED = new Set(["ECONNREFUSED"]);
const RESET = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
const UNREACHABLE = new Set(["ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

/**
 * Classifies a network error. Node's fetch wraps the socket error (`TypeError: fetch failed`, cause
 * `ECONNREFUSED`), and a body cut off mid-stream surfaces as `TypeError: terminated`.
 */
export function connectionFailure(error: unknown): ConnectionFailure | undefined {
  for (
    let current: unknown = error, depth = 0;
    current instanceof Error && depth < 6;
    current = current.cause, depth++
  ) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code && REFUSED.has(code)) return "refused";
    if (code && RESET.has(code)) return "reset";
    if (code && UNREACHABLE.has(code)) return "unreachable";
    if (current.message === "terminated" || current.message === "other side closed") return "reset";
  }
  return undefined;
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Options for {@link retryRefused}. */
export interface RetryOptions {
  /** Extra attempts after the first. */
  retries: number;
  /** First wait; each later wait doubles. */
  baseDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (attempt: number, delayMs: number) => void;
}

/**
 * Runs `attempt` again, with exponential backoff, only when the connection was refused: then nothing
 * reached the server, so repeating cannot run anything twice, and a server that is starting up gets
 * time to listen. Every other failure is final.
 */
export async function retryRefused<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseDelayMs ?? 250;
  for (let tried = 0; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (tried >= options.retries || connectionFailure(error) !== "refused" || options.signal?.aborted) throw error;
      const delay = base * 2 ** tried;
      options.onRetry?.(tried + 1, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Options for {@link guardedFetch}. */
export interface GuardOptions {
  /** Cancels the request (timeouts, the caller's abort); combined with the request's own signal. */
  signal?: AbortSignal;
  /** Fails the request after this long when no signal is given. */
  timeoutMs?: number;
}

/**
 * The `fetch` every client goes through, so that Builder keeps control of three things the official
 * `ollama` client does not offer:
 * - cancellation: the client has no per-request signal, so timeouts and the caller's abort come in here;
 * - error bodies that are not JSON (a proxy's HTML page): the client would print them with console.log,
 *   on stdout, which carries results only; they are turned into the `{"error": "..."}` shape;
 * - malformed NDJSON lines: the client skips them with a console warning, which would silently drop
 *   part of an answer; here they fail the stream with a {@link MalformedStreamError}.
 */
export function guardedFetch(options: GuardOptions): typeof fetch {
  return async (input, init) => {
    const own =
      options.signal ?? (options.timeoutMs !== undefined ? AbortSignal.timeout(options.timeoutMs) : undefined);
    const signal = init?.signal && own ? AbortSignal.any([init.signal, own]) : (init?.signal ?? own);
    const response = await fetch(input, { ...init, signal });
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok && !type.includes("application/json")) {
      const text = (await response.text().catch(() => "")).trim();
      return new Response(
        JSON.stringify({ error: text.slice(0, 500) || `HTTP ${response.status} ${response.statusText}` }),
        {
          status: response.status,
          statusText: response.statusText,
          headers: { "content-type": "application/json" },
        },
      );
    }
    if (response.ok && response.body && type.includes("ndjson")) {
      const { status, statusText, headers } = response;
      return new Response(response.body.pipeThrough(validatedLines()), { status, statusText, headers });
    }
    return response;
  };
}

/** Passes through complete NDJSON lines that parse as JSON objects; fails on the first that does not. */
function validatedLines(): TransformStream<Uint8Array, Uint8Array> {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let buffer = "";
  const emit = (line: string, controller: TransformStreamDefaultController<Uint8Array>): void => {
    const trimmed = line.trim();
    if (trimmed === "") return;
    parseJsonObject(trimmed);
    controller.enqueue(encoder.encode(trimmed + "\n"));
  };
  return new TransformStream({
    transform(chunk, controller) {
      buffer += decoder.decode(chunk, { stream: true });
      const lines = buffer.split("\n");
      buffer = lines.pop() ?? "";
      for (const line of lines) emit(line, controller);
    },
    flush(controller) {
      buffer += decoder.decode();
      emit(buffer, controller);
    },
  });
}

/** Parses one streamed line as a JSON object, or throws {@link MalformedStreamError}. */
export function parseJsonObject(line: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new MalformedStreamError(line);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new MalformedStreamError(line);
  return value as Record<string, unknown>;
}

/**
 * Parses a server reply (a whole body or one stream line) with its schema: a reply that is JSON but not
 * the shape the protocol promises fails like a malformed line instead of being cast and misread.
 */
export function parseReply<T>(schema: z.ZodType<T>, line: string): T {
  const result = schema.safeParse(parseJsonObject(line));
  if (!result.success) throw new MalformedStreamError(line);
  return result.data;
}

/** Checks an object the official client already parsed against the reply's schema. */
export function checkReply<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new MalformedStreamError(JSON.stringify(value) ?? String(value));
  return result.data;
}
