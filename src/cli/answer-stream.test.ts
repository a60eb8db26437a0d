import { describe, expect, it } from "vitest";
import { AnswerStream } from "./answer-stream.js";

function recorder(): { out: { write: (text: string) => boolean }; writes: string[] } {
  const writes: string[] = [];
  return { out: { write: (text: string) => writes.push(text) > 0 }, writes };
}

describe("AnswerStream (builder run --stream)", () => {
  it("writes whole lines only, so a log line never starts inside answer text", () => {
    const { out, writes } = recorder();
    const stream = new AnswerStream(out);
    stream.chunk("src/a.ts\n<<<");
    stream.chunk("<<<< SEARCH");
    stream.chunk("\nold\n");
    stream.end();
    expect(writes).toEqual(["src/a.ts\n", "<<<<<<< SEARCH\nold\n"]);
    expect(writes.every((w) => w.endsWith("\n"))).toBe(true);
  });

  it("marks a restarted answer with one line after what was streamed, never presenting both as one answer", () => {
    const { out, writes } = recorder();
    const stream = new AnswerStream(out);
    stream.chunk("first half of an ans");
    stream.restart("the Builder host stopped; the answer restarts in-process");
    stream.chunk("whole answer\n");
    stream.end();
    expect(writes.join("")).toBe(
      "first half of an ans\n" +
        "--- the Builder host stopped; the answer restarts in-process; the text above is discarded, the whole answer follows ---\n" +
        "whole answer\n",
    );
  });
});
