import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { createGenerationProgress } from "./run-progress.js";

/** A stream that says it is a terminal, as stderr is when a person watches. */
function terminal(): { stream: NodeJS.WritableStream; text: () => string } {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

describe("generation progress on stderr", () => {
  it("shows the round, the tokens so far and tok/s while generating, for any backend's events", () => {
    const { stream, text } = terminal();
    const progress = createGenerationProgress(stream);
    progress.onEvent({ type: "first_token", round: 0, ms: 40 });
    progress.onEvent({ type: "generating", round: 0, tokens: 57, elapsed_ms: 4000, tokens_per_sec: 14.2 });
    expect(text()).toContain("generating, round 0: 57 tokens, 14.2 tok/s");
    progress.onEvent({ type: "generated", round: 0, tokens: 60, stop_reason: "stop", tokens_per_sec: 14 });
    const drawn = text();
    progress.onEvent({ type: "generating", round: 1, tokens: 3, elapsed_ms: 100, tokens_per_sec: null });
    expect(text().slice(drawn.length)).toContain("generating, round 1: 3 tokens, - tok/s");
    progress.stop();
  });
});
