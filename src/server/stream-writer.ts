import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import { sendJson } from "./http-io.js";

/**
 * A streamed answer. Headers go out with the first piece, so that an error before any content still
 * gets its own status and a plain error body; an error after it is sent as the stream's last piece.
 * Subclasses say how a piece is framed and what an error looks like.
 */
export abstract class StreamWriter {
  private begun = false;

  protected constructor(
    protected readonly response: ServerResponse,
    private readonly headers: OutgoingHttpHeaders,
  ) {}

  /** Whether the 200 status and the first piece have been sent. */
  get started(): boolean {
    return this.begun;
  }

  write(value: unknown): void {
    if (this.response.destroyed) return;
    this.begin();
    this.response.write(this.frame(value));
  }

  /**
   * Reports an error: as the whole answer (with `status`) before the stream started, as its last piece
   * after. `extra` (Builder's error code and details) goes beside the message where the format allows.
   */
  fail(status: number, message: string, extra: Record<string, unknown> = {}): void {
    if (this.response.destroyed) return;
    const body = this.errorBody(status, message, extra);
    if (!this.begun) sendJson(this.response, status, body);
    else this.response.end(this.frame(body));
  }

  protected begin(): void {
    if (this.begun) return;
    this.response.writeHead(200, this.headers);
    this.begun = true;
  }

  protected abstract frame(value: unknown): string;
  protected abstract errorBody(status: number, message: string, extra: Record<string, unknown>): unknown;
}
