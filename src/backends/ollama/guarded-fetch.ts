import { MalformedStreamError } from "../remote/failures.js";

/**
 * The `fetch` the official `ollama` client is given, so that Builder keeps control of three things the
 * client does not offer:
 * - cancellation: the client has no per-request signal, so timeouts and the caller's abort come in here;
 * - error bodies that are not JSON (a proxy's HTML page): the client would print them with console.log,
 *   on stdout, which carries results only; they are turned into Ollama's `{"error": "..."}` shape;
 * - malformed NDJSON lines: the client skips them with a console warning, which would silently drop
 *   part of an answer; here they fail the stream with a {@link MalformedStreamError}.
 */
export function guardedFetch(signal: AbortSignal): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    const type = response.headers.get("content-type") ?? "";
    if (!response.ok && !type.includes("application/json")) {
      const text = (await response.text().catch(() => "")).trim();
      return new Response(JSON.stringify({ error: text.slice(0, 500) || `HTTP ${response.status} ${response.statusText}` }), {
        status: response.status,
        statusText: response.statusText,
        headers: { "content-type": "application/json" },
      });
    }
    if (response.ok && response.body && type.includes("ndjson")) {
      return new Response(response.body.pipeThrough(validatedLines()), { status: response.status, statusText: response.statusText, headers: response.headers });
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
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch {
      throw new MalformedStreamError(trimmed);
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) throw new MalformedStreamError(trimmed);
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
