import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import type { RunEvent } from "../agent/events.js";
import { BuilderError } from "../errors/errors.js";
import { RunOutput } from "./run-output.js";

function sink(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
  return { stream, text: () => text };
}

const EVENTS: RunEvent[] = [
  { type: "started", run_id: "r1", task_id: "t1", backend: "embedded", model: "m" },
  { type: "first_token", round: 0, ms: 12 },
  { type: "answer_text", round: 0, text: '{"file' },
  { type: "answer_text", round: 0, text: '": 1}\n' },
  { type: "generated", round: 0, tokens: 2, stop_reason: "stop", tokens_per_sec: 10 },
];

describe("RunOutput (builder run's stdout and stderr from run events)", () => {
  it("stream-json: one JSON line per event on stdout, the answer's text only with --stream, the failure last", () => {
    const out = sink();
    const output = new RunOutput({ format: "stream-json", streamText: false, drawProgress: false, stdout: out.stream });
    for (const event of EVENTS) output.listener(event);
    output.printFailure(new BuilderError("GENERATION_FAILED", "no answer"));
    const lines = out
      .text()
      .trimEnd()
      .split("\n")
      .map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(["started", "first_token", "generated", "result"]);
    expect(lines.at(-1)).toMatchObject({ ok: false, error: { code: "GENERATION_FAILED", message: "no answer" } });

    const withText = sink();
    const streaming = new RunOutput({
      format: "stream-json",
      streamText: true,
      drawProgress: false,
      stdout: withText.stream,
    });
    for (const event of EVENTS) streaming.listener(event);
    expect(
      withText
        .text()
        .split("\n")
        .filter((l) => l.includes('"answer_text"')),
    ).toHaveLength(2);
  });

  it("json: stdout stays empty until the result; --stream writes the answer's text on stderr", () => {
    const out = sink();
    const err = sink();
    const output = new RunOutput({
      format: "json",
      streamText: true,
      drawProgress: false,
      stdout: out.stream,
      stderr: err.stream,
    });
    for (const event of EVENTS) output.listener(event);
    output.end();
    expect(out.text()).toBe("");
    expect(err.text()).toBe('{"file": 1}\n');
    output.printFailure(new BuilderError("GENERATION_FAILED", "no answer"));
    expect(out.text()).toBe("");
  });
});
