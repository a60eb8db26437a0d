import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { describe, expect, it } from "vitest";
import {
  ACCEPTANCE_SAMPLE,
  DraftWatch,
  MIN_ACCEPTANCE,
  PROMPT_LOOKUP_MAX_PATTERN,
  SwitchablePromptLookup,
} from "./speculative.js";

/** Only the counters DraftWatch reads: a narrow unit test of when it switches drafting off. */
function sequenceWith(counts: { validated: number; refuted: number }): LlamaContextSequence {
  return {
    get tokenPredictions() {
      return { used: 0, unused: 0, ...counts };
    },
  } as unknown as LlamaContextSequence;
}

describe("DraftWatch (auto-off for low acceptance)", () => {
  it("switches drafting off once enough drafts were judged and too few were accepted, counting from this generation's start", () => {
    const counts = { validated: 100, refuted: 0 };
    const predictor = new SwitchablePromptLookup();
    predictor.enabled = false;
    const watch = new DraftWatch(sequenceWith(counts), predictor);
    expect(predictor.enabled).toBe(true);
    counts.refuted = ACCEPTANCE_SAMPLE - 2;
    counts.validated += 1;
    watch.check();
    expect(predictor.enabled).toBe(true);
    counts.refuted += 2;
    watch.check();
    expect(predictor.enabled).toBe(false);
    expect(watch.switchedOff).toBe(true);
    expect(watch.counts()).toEqual({ validated: 1, refuted: ACCEPTANCE_SAMPLE });
    expect(predictor.predictTokens()).toEqual([]);
  });

  it("keeps drafting when acceptance pays", () => {
    const counts = { validated: 0, refuted: 0 };
    const predictor = new SwitchablePromptLookup();
    const watch = new DraftWatch(sequenceWith(counts), predictor);
    counts.validated = Math.ceil(ACCEPTANCE_SAMPLE * MIN_ACCEPTANCE) + 1;
    counts.refuted = ACCEPTANCE_SAMPLE - counts.validated;
    watch.check();
    expect(predictor.enabled).toBe(true);
    expect(watch.switchedOff).toBe(false);
  });
});

describe("SwitchablePromptLookup (drafts from the prompt)", () => {
  it("matches up to PROMPT_LOOKUP_MAX_PATTERN generated tokens, not the one-token default that slowed generation on long prompts", () => {
    const predictor = new SwitchablePromptLookup();
    expect(predictor.patternMaxLength).toBe(PROMPT_LOOKUP_MAX_PATTERN);
    expect(PROMPT_LOOKUP_MAX_PATTERN).toBeGreaterThan(0);
  });

  it("still drafts the prompt's continuation after a match longer than the bound, in a prompt that repeats itself", () => {
    const tokens = (values: number[]): Token[] => values as Token[];
    const line = tokens(Array.from({ length: 30 }, (_, i) => 1000 + i));
    const prompt = [...Array.from({ length: 100 }, () => line).flat(), ...tokens([7, 8, 9, 10])];
    const predictor = new SwitchablePromptLookup();
    predictor.updateInputTokens(prompt);
    predictor.reset({
      targetSequence: undefined as unknown as LlamaContextSequence,
      stateTokens: [...line.slice(5), ...tokens([7, 8])],
      evaluateOptions: {},
    });
    expect(predictor.predictTokens()).toEqual([9, 10]);
  });
});
