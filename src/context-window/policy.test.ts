import { describe, expect, it } from "vitest";
import { checkFit, DEFAULT_NUM_CTX, defaultContextSize, reserveForAnswer } from "./policy.js";

describe("context-window policy", () => {
  it("uses 8192 tokens unless the model was trained on fewer", () => {
    expect(DEFAULT_NUM_CTX).toBe(8192);
    expect(defaultContextSize(undefined)).toBe(8192);
    expect(defaultContextSize(32768)).toBe(8192);
    expect(defaultContextSize(2048)).toBe(2048);
  });

  it("keeps num_predict for the answer, else up to 4096 but at most half the window and at least 1024", () => {
    expect(reserveForAnswer(8192, 300)).toBe(300);
    expect(reserveForAnswer(32768)).toBe(4096);
    expect(reserveForAnswer(4096)).toBe(2048);
    expect(reserveForAnswer(1024)).toBe(1024);
  });

  it("fits a prompt and answer that fill the window exactly, and names the window needed when one token more does not fit", () => {
    expect(checkFit(4096, 4096, 8192)).toEqual({ fits: true, needed: 8192, room: 4096 });
    expect(checkFit(4097, 4096, 8192)).toEqual({ fits: false, needed: 8193, room: 4095 });
    expect(checkFit(9000, 1, 8192)).toMatchObject({ fits: false, room: -808 });
  });
});
