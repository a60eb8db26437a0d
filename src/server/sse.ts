import type { ServerResponse } from "node:http";
import { openaiErrorBody, sendJson } from "./http-io.js";

/**
 * OpenAI's stream framing: server-sent events, each `data: <json>` and a blank line, ending with
 * `data: [DONE]`. Headers go out with the first event, so an early error keeps its own status.
 */
export class SseWriter {
  private begun = false;

  constructor(private readonly response: ServerResponse) {}

  get started(): boolean {
    return this.begun;
  }

  write(value: unknown): void {
    if (this.response.destroyed) return;
    this.begin();
    this.response.write(`data: ${JSON.stringify(value)}\n\n`);
  }

  /** Ends the stream with OpenAI's `[DONE]` event. */
  done(): void {
    if (this.response.destroyed) return;
    this.begin();
    this.response.end("data: [DONE]\n\n");
  }

  private begin(): void {
    if (this.begun) return;
    this.response.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
    this.begun = true;
  }

  /** Reports an error: as a JSON answer with `status` before the stream started, as a last event after. */
  fail(status: number, message: string): void {
    if (this.response.destroyed) return;
    if (!this.begun) {
      sendJson(this.response, status, openaiErrorBody(status, message));
      return;
    }
    this.response.end(`data: ${JSON.stringify(openaiErrorBody(status, message))}\n\n`);
  }
}
