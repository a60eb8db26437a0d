import path from "node:path";
import { describe, expect, it } from "vitest";
import { tempDir, writeFiles } from "../../test-support/fixtures.js";
import { prefixCacheUsage } from "./prefix-cache-usage.js";

const meta = (modelPath: string): string => JSON.stringify({ version: 1, identity: { modelPath } });

describe("prefixCacheUsage (the prefix cache's size for builder ps)", () => {
  it("sums the state files in total and per model, counting an entry without a readable key in the total only", async () => {
    const dir = tempDir("builder-prefix-usage-");
    writeFiles(dir, {
      "a.state": "x".repeat(1000),
      "a.json": meta("/models/one.gguf"),
      "b.state": "x".repeat(500),
      "b.json": meta("/models/one.gguf"),
      "c.state": "x".repeat(300),
      "c.json": meta("/models/two.gguf"),
      "d.state": "x".repeat(7),
      "d.json": "not json",
      "e.json": meta("/models/three.gguf"),
    });
    expect(await prefixCacheUsage(dir)).toEqual({
      dir,
      bytes: 1807,
      entries: 4,
      byModel: { "/models/one.gguf": 1500, "/models/two.gguf": 300 },
    });
  });

  it("reports an empty cache when the folder does not exist", async () => {
    const dir = path.join(tempDir("builder-prefix-usage-"), "absent");
    expect(await prefixCacheUsage(dir)).toEqual({ dir, bytes: 0, entries: 0, byModel: {} });
  });
});
