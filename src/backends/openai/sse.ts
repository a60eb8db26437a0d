import { createParser } from "eventsource-parser";

/**
 * Reads a server-sent events stream and yields each event's `data` (lines joined with "\n"), parsed by
 * eventsource-parser: comments, other fields and line ends (CR, LF, CRLF, even split across chunks) as
 * the SSE format says. A last event that lacks its blank line is still yielded: the stream's end ends it.
 */
export async function* readSseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  const ready: string[] = [];
  const parser = createParser({ onEvent: (event) => ready.push(event.data) });
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    parser.feed(decoder.decode(chunk, { stream: true }));
    yield* ready.splice(0);
  }
  parser.feed(decoder.decode() + "\n\n");
  yield* ready.splice(0);
}
