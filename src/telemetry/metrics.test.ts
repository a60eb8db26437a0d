import { describe, expect, it } from "vitest";
import { tokensPerSecond } from "./metrics.js";

describe("tokensPerSecond", () => {
  it.each([
    ["one token", 1, 500, null],
    ["no tokens", 0, 500, null],
    ["whole answer in one chunk (0 ms)", 120, 0, null],
    ["sub-millisecond generation time", 120, 0.0026, null],
    ["negative time (clock skew)", 120, -5, null],
    ["NaN time", 120, Number.NaN, null],
    ["exactly 1 ms", 2, 1, 1000],
    ["101 tokens in 2 s", 101, 2000, 50],
    ["tokens after the first over 3 ms", 4, 3, 1000],
  ] as const)("%s → %s", (_label, tokens, ms, expected) => {
    expect(tokensPerSecond(tokens, ms)).toBe(expected);
  });
});
