import { describe, expect, it } from "vitest";
import { EndpointPool } from "./endpoint-pool.js";

describe("EndpointPool", () => {
  it("picks the least busy endpoint that is up, spreading ties, and skips one marked down until its retry time", () => {
    let now = 1_000;
    const pool = new EndpointPool(
      [
        { url: "a", member: "A" },
        { url: "b", member: "B" },
        { url: "c", member: "C" },
      ],
      { retryAfterMs: 5_000, now: () => now },
    );
    const first = pool.pick()!;
    const releaseFirst = pool.acquire(first);
    const second = pool.pick()!;
    pool.acquire(second);
    const third = pool.pick()!;
    expect(new Set([first.url, second.url, third.url]).size).toBe(3);
    pool.acquire(third);
    releaseFirst();
    expect(pool.pick()?.url, "the endpoint with nothing running").toBe(first.url);
    pool.markDown(first, "connection_refused");
    expect(pool.pick()?.url).not.toBe(first.url);
    expect(pool.describe()).toMatch(new RegExp(`${first.url}: down \\(connection_refused\\), retried in 5 s`));
    now += 5_001;
    expect(pool.pick()?.url, "tried again after retryAfterMs").toBe(first.url);
    expect(pool.pick(new Set(["a", "b", "c"]))).toBeUndefined();
  });
});
