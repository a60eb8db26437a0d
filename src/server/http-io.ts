import type { IncomingMessage, ServerResponse } from "node:http";

/** The largest request body `builder serve` reads (prompts are text; 32 MiB is far beyond any context). */
export const MAX_BODY_BYTES = 32 * 1024 * 1024;

/** A failure answered with an HTTP status and a message, in the format of the API that was called. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

/** Reads and parses a JSON request body; malformed JSON and a missing body are 400s, as in Ollama. */
export async function readJsonBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new HttpError(400, "missing request body");
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `invalid JSON in request body: ${(error as Error).message}`);
  }
}

/** Sends one JSON value with `status`. */
export function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  response.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

/** Ollama's error body: `{"error": "message"}`. */
export function sendOllamaError(response: ServerResponse, status: number, message: string): void {
  sendJson(response, status, { error: message });
}

/** OpenAI's error body, as Ollama's OpenAI layer writes it. */
export function openaiErrorBody(
  status: number,
  message: string,
): { error: { message: string; type: string; param: null; code: null } } {
  const type = status === 400 ? "invalid_request_error" : status === 404 ? "not_found_error" : "api_error";
  return { error: { message, type, param: null, code: null } };
}
