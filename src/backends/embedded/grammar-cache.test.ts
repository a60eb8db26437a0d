import { describe, expect, it } from "vitest";
import { GrammarCache } from "./grammar-cache.js";

describe("GrammarCache (an engine's compiled grammars)", () => {
  it("holds at most maxEntries grammars, dropping the least recently used", async () => {
    const cache = new GrammarCache<string>(2);
    let created = 0;
    const make = (text: string) => (): Promise<string> => {
      created++;
      return Promise.resolve(`compiled ${text}`);
    };
    await cache.getOrCreate("a", make("a"));
    await cache.getOrCreate("b", make("b"));
    // "a" is used again, so "b" is now the least recently used.
    expect(await cache.getOrCreate("a", make("a"))).toBe("compiled a");
    await cache.getOrCreate("c", make("c"));
    expect(cache.size).toBe(2);
    expect(cache.has("a")).toBe(true);
    expect(cache.has("b")).toBe(false);
    expect(cache.has("c")).toBe(true);
    expect(created).toBe(3);
  });

  it("stays bounded over many tasks' grammars, as the long-lived Builder host sees them", async () => {
    const cache = new GrammarCache<number>();
    for (let task = 0; task < 500; task++)
      await cache.getOrCreate(`root ::= "task ${task}"`, () => Promise.resolve(task));
    expect(cache.size).toBe(cache.maxEntries);
    expect(cache.has(`root ::= "task 499"`)).toBe(true);
    expect(cache.has(`root ::= "task 0"`)).toBe(false);
  });

  it("forgets a grammar that failed to compile, so the next request tries again", async () => {
    const cache = new GrammarCache<string>();
    await expect(cache.getOrCreate("bad", () => Promise.reject(new Error("parse error")))).rejects.toThrow(
      "parse error",
    );
    expect(cache.has("bad")).toBe(false);
    expect(await cache.getOrCreate("bad", () => Promise.resolve("fixed"))).toBe("fixed");
  });
});
