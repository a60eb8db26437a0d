import { describe, expect, it } from "vitest";
import { describeEvent, GenerationTracker, type RunEvent } from "./events.js";

describe("GenerationTracker (a generation's streamed text as run events)", () => {
  it("sends first_token once, then the text of every piece, and starts over after a restart", () => {
    const events: RunEvent[] = [];
    const tracker = new GenerationTracker(1, (e) => events.push(e));
    tracker.chunk("a");
    tracker.chunk("b");
    tracker.restart("the resident engine stopped");
    tracker.chunk("c");
    expect(events.map((e) => e.type)).toEqual([
      "first_token",
      "answer_text",
      "answer_text",
      "answer_restart",
      "first_token",
      "answer_text",
    ]);
    expect(events.every((e) => !("round" in e) || e.round === 1)).toBe(true);
    expect(events.filter((e) => e.type === "answer_text").map((e) => (e as { text: string }).text)).toEqual([
      "a",
      "b",
      "c",
    ]);
  });
});

describe("describeEvent (progress messages)", () => {
  it("says each event in a line a person can read", () => {
    expect(describeEvent({ type: "model_loading", fraction: 0.42 })).toBe("loading the model: 42%");
    expect(describeEvent({ type: "generating", round: 0, tokens: 120, elapsed_ms: 9000, tokens_per_sec: 13.2 })).toBe(
      "round 0: 120 tokens at 13.2 tok/s",
    );
    expect(describeEvent({ type: "repair", round: 1, failed_checks: ["tsc", "tests"] })).toBe(
      "repair round 1: failed tsc, tests",
    );
  });
});
