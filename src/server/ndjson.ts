import type { ServerResponse } from "node:http";
import { sendJson } from "./http-io.js";

/**
 * Ollama's stream framing: one JSON object per line (`application/x-ndjson`). Headers go out with the
 * first line, so that an error before any content can still get its own status and a plain error body,
 * and an error after it is sent as a final `{"error": "..."}` line, as Ollama does.
 */
export class NdjsonWriter {
  private begun = false;

  constructor(private readonly response: ServerResponse) {}

  /** Whether the 200 status and the first line have been sent. */
  get started(): boolean {
    return this.begun;
  }

  write(value: unknown): void {
    if (this.response.destroyed) return;
    if (!this.begun) {
      this.response.writeHead(200, { "content-type": "application/x-ndjson", "cache-control": "no-cache" });
      this.begun = true;
    }
    this.response.write(JSON.stringify(value) + "\n");
  }

  end(): void {
    if (!this.response.destroyed) this.response.end();
  }

  /** Reports an error: as the whole answer before the stream started, as its last line after. */
  fail(status: number, message: string): void {
    if (this.response.destroyed) return;
    if (!this.begun) {
      sendJson(this.response, status, { error: message });
      return;
    }
    this.response.end(JSON.stringify({ error: message }) + "\n");
  }
}
