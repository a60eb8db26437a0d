import { afterEach, describe, expect, it, vi } from "vitest";
import { TextBatcher } from "./text-batcher.js";

afterEach(() => vi.useRealTimers());

describe("streamed text batching", () => {
  it("sends the first piece at once, coalesces the rest per interval, and loses nothing on flush", () => {
    vi.useFakeTimers();
    const sent: string[] = [];
    const batcher = new TextBatcher((text) => sent.push(text), 20);
    batcher.push("{");
    expect(sent).toEqual(["{"]);
    batcher.push('"a"');
    batcher.push("");
    batcher.push(":");
    expect(sent).toEqual(["{"]);
    vi.advanceTimersByTime(20);
    expect(sent).toEqual(["{", '"a":']);
    batcher.push("1}");
    batcher.flush();
    batcher.flush();
    expect(sent).toEqual(["{", '"a":', "1}"]);
    expect(sent.join("")).toBe('{"a":1}');
  });
});
