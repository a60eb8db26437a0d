/** A streamed line (or reply body) that is not the JSON the protocol promises. */
export class MalformedStreamError extends Error {
  constructor(readonly line: string) {
    super(`malformed stream line: ${line.slice(0, 120)}`);
    this.name = "MalformedStreamError";
  }
}

/** The stream ended without its final message (`done: true`, `[DONE]` or a finish reason). */
export class TruncatedStreamError extends Error {
  constructor() {
    super("the stream ended before its final message");
    this.name = "TruncatedStreamError";
  }
}
