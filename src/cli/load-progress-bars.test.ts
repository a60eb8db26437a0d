import { describe, expect, it } from "vitest";
import { shouldDrawLoadProgress } from "./load-progress-bars.js";

describe("load and calibration progress on stderr", () => {
  it("is drawn on a terminal only, and never when log lines are JSON", () => {
    expect(shouldDrawLoadProgress({ isTTY: true }, {})).toBe(true);
    expect(shouldDrawLoadProgress({ isTTY: true }, { BUILDER_LOG_FORMAT: "pretty" })).toBe(true);
    expect(shouldDrawLoadProgress({ isTTY: true }, { BUILDER_LOG_FORMAT: "json" })).toBe(false);
    expect(shouldDrawLoadProgress({ isTTY: false }, {})).toBe(false);
    expect(shouldDrawLoadProgress({}, { BUILDER_LOG_FORMAT: "pretty" })).toBe(false);
  });
});
