import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { createLogger, getLogger, setLogger } from "../telemetry/logger.js";
import { synthesizeTestModel, tempDir } from "../test-support/fixtures.js";
import { parseKeepAlive } from "../format/keep-alive.js";
import { isLoopback, startServer } from "./server.js";

describe("parseKeepAlive", () => {
  it("reads seconds, Go durations, 0 and negative values as Ollama does", () => {
    expect(parseKeepAlive(300)).toBe(300_000);
    expect(parseKeepAlive("5m")).toBe(300_000);
    expect(parseKeepAlive("1h30m")).toBe(5_400_000);
    expect(parseKeepAlive("250ms")).toBe(250);
    expect(parseKeepAlive("0")).toBe(0);
    expect(parseKeepAlive(-1)).toBe(Infinity);
    expect(parseKeepAlive("-1m")).toBe(Infinity);
    expect(parseKeepAlive("soon")).toBeUndefined();
  });
});

describe("startServer (the library behind builder serve)", () => {
  const previous = getLogger();
  afterEach(() => setLogger(previous));

  it("warns when it listens beyond loopback, and shows a forever keep-alive far in the future", async () => {
    const lines: string[] = [];
    setLogger(
      createLogger({
        level: "warn",
        destination: new Writable({ write: (chunk: Buffer, _e, done) => (lines.push(chunk.toString()), done()) }),
      }),
    );
    const dir = tempDir();
    const config = loadConfig({
      cwd: dir,
      env: { HOME: dir },
      overrides: { model: await synthesizeTestModel(), options: { num_thread: 1, num_ctx: 512 } },
    });
    const server = await startServer({ config, bindAddress: "0.0.0.0", port: 0, keepAlive: -1 });
    try {
      expect(lines.join("")).toMatch(/listens on 0\.0\.0\.0, beyond this machine.*no authentication/);
      const ps = (await (await fetch(`http://127.0.0.1:${server.port}/api/ps`)).json()) as {
        models: Array<{ expires_at: string }>;
      };
      expect(new Date(ps.models[0].expires_at).getUTCFullYear()).toBe(2318);
    } finally {
      await server.close();
    }
    expect(isLoopback("127.0.0.1")).toBe(true);
    expect(isLoopback("::1")).toBe(true);
    expect(isLoopback("192.168.1.5")).toBe(false);
    await expect(startServer({ config, port: 0, keepAlive: "later" })).rejects.toThrow(
      /--keep-alive "later" is not a duration/,
    );
  });
});
