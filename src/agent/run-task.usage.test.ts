import { describe, expect, it } from "vitest";
import { RunUsage } from "./run-task.js";

describe("RunUsage (the usage fields of a run's metrics)", () => {
  it("counts the first prompt once when the run fails after counting it and before any generation", () => {
    const usage = new RunUsage();
    usage.assembled(9435);
    usage.promptCounted(9435);
    expect(usage.metrics().prompt_tokens).toBe(9435);
  });

  it("takes the context assembly's count when the run fails before any generation counted its prompt", () => {
    const usage = new RunUsage();
    usage.assembled(9435);
    expect(usage.metrics().prompt_tokens).toBe(9435);
  });

  it("sums the prompts of every round counted (a first answer and a repair)", () => {
    const usage = new RunUsage();
    usage.assembled(100);
    usage.promptCounted(100);
    usage.promptCounted(140);
    expect(usage.metrics().prompt_tokens).toBe(240);
  });
});
