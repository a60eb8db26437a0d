import { describe, expect, it } from "vitest";
import { median, ratio } from "./measure.js";

describe("bench arithmetic", () => {
  it("takes the median of odd and even counts without reordering the input", () => {
    const values = [5, 1, 3];
    expect(median(values)).toBe(3);
    expect(values).toEqual([5, 1, 3]);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBe(0);
  });

  it("rounds ratios to three decimals and never divides by zero", () => {
    expect(ratio(295.9, 283.2)).toBe(1.045);
    expect(ratio(1, 0)).toBe(0);
  });
});
