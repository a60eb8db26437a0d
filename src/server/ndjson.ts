import type { ServerResponse } from "node:http";
import { StreamWriter } from "./stream-writer.js";

/** Ollama's stream framing: one JSON object per line (`application/x-ndjson`), errors as `{"error": "..."}`. */
export class NdjsonWriter extends StreamWriter {
  constructor(response: ServerResponse) {
    super(response, { "content-type": "application/x-ndjson", "cache-control": "no-cache" });
  }

  end(): void {
    if (!this.response.destroyed) this.response.end();
  }

  protected frame(value: unknown): string {
    return JSON.stringify(value) + "\n";
  }

  protected errorBody(_status: number, message: string, extra: Record<string, unknown>): unknown {
    return { error: message, ...extra };
  }
}
