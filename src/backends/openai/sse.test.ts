import { describe, expect, it } from "vitest";
import { readSseData } from "./sse.js";

function streamOf(...parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

async function collect(body: ReadableStream<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  for await (const data of readSseData(body)) out.push(data);
  return out;
}

describe("readSseData", () => {
  it("yields each event's data across chunk boundaries, CRLF line ends, comments and multi-line data", async () => {
    const events = await collect(
      streamOf(
        'data: {"a"',
        ":1}\r\n\r\n: keep-alive comment\n\nevent: x\ndata: line one\ndata: line two\n\n",
        "data:[DONE]\n\n",
      ),
    );
    expect(events).toEqual(['{"a":1}', "line one\nline two", "[DONE]"]);
  });

  it("yields a last event that lacks its blank line", async () => {
    expect(await collect(streamOf("data: tail"))).toEqual(["tail"]);
  });

  it("ends a line once at a CRLF split across two chunks", async () => {
    // A CR at a chunk's end and its LF at the next chunk's start are one line end, not a blank line.
    expect(await collect(streamOf("data: a\r", "\ndata: b\r\n\r\n"))).toEqual(["a\nb"]);
  });
});
