import type { ServerResponse } from "node:http";
import { openaiErrorBody } from "./http-io.js";
import { StreamWriter } from "./stream-writer.js";

/** OpenAI's stream framing: server-sent events, each `data: <json>` and a blank line, ending with `data: [DONE]`. */
export class SseWriter extends StreamWriter {
  constructor(response: ServerResponse) {
    super(response, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
  }

  /** Ends the stream with OpenAI's `[DONE]` event. */
  done(): void {
    if (this.response.destroyed) return;
    this.begin();
    this.response.end("data: [DONE]\n\n");
  }

  protected frame(value: unknown): string {
    return `data: ${JSON.stringify(value)}\n\n`;
  }

  protected errorBody(status: number, message: string): unknown {
    return openaiErrorBody(status, message);
  }
}
