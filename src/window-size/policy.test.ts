import { describe, expect, it } from "vitest";
import {
  autoWindowCap,
  checkFit,
  chooseWindow,
  CONTEXT_BUCKETS,
  DEFAULT_NUM_CTX,
  defaultContextSize,
  keepsLoadedWindow,
  reserveForAnswer,
} from "../window-size/policy.js";

describe("window-size policy", () => {
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

describe("num_ctx auto", () => {
  it("chooses the smallest bucket of 8K, 16K, 32K, 64K, 128K that holds prompt and answer", () => {
    expect(CONTEXT_BUCKETS).toEqual([8192, 16384, 32768, 65536, 131072]);
    expect(chooseWindow(3000, 131072)).toBe(8192);
    // A 9K-token prompt and a 4096-token answer: 16K.
    expect(chooseWindow(9 * 1024 + 4096, 131072)).toBe(16384);
    expect(chooseWindow(16385, 131072)).toBe(32768);
    expect(chooseWindow(100_000, 131072)).toBe(131072);
  });

  it("is capped by the model's trained context and the card's memory, and gets the cap itself when no bucket below it holds the task", () => {
    expect(autoWindowCap(32768, undefined)).toBe(32768);
    expect(autoWindowCap(undefined, 20_000)).toBe(20_000);
    expect(autoWindowCap(1_000_000, undefined)).toBe(131072);
    expect(chooseWindow(20_000, 24_576)).toBe(24_576);
    expect(chooseWindow(9000, 24_576)).toBe(16384);
    expect(chooseWindow(3000, 4096)).toBe(4096);
  });

  it("keeps a loaded window at least as large as the one asked for (no reload), and reloads only for a bigger one", () => {
    expect(keepsLoadedWindow(32768, 16384)).toBe(true);
    expect(keepsLoadedWindow(16384, 16384)).toBe(true);
    expect(keepsLoadedWindow(8192, 16384)).toBe(false);
    expect(keepsLoadedWindow(undefined, 8192)).toBe(false);
  });
});
