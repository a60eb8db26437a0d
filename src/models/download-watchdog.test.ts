import { afterEach, describe, expect, it, vi } from "vitest";
import { DownloadWatchdog } from "./download-watchdog.js";

afterEach(() => vi.useRealTimers());

describe("download watchdog", () => {
  it("gives up when no byte arrives for the stall time, and not while bytes keep coming", async () => {
    vi.useFakeTimers();
    const watchdog = new DownloadWatchdog({ maxRestarts: 3, stallMs: 1000 });
    let failure: Error | undefined;
    watchdog.failed.catch((error: Error) => (failure = error));
    for (let i = 1; i <= 5; i++) {
      vi.advanceTimersByTime(900);
      watchdog.progress(i * 100);
    }
    await Promise.resolve();
    expect(failure).toBeUndefined();
    vi.advanceTimersByTime(1000);
    await Promise.resolve();
    expect(failure?.message).toMatch(/no data arrived for 1 s/);
  });

  it("gives up after the transfer restarts from an earlier byte too many times", async () => {
    const watchdog = new DownloadWatchdog({ maxRestarts: 2, stallMs: 60_000 });
    let failure: Error | undefined;
    watchdog.failed.catch((error: Error) => (failure = error));
    watchdog.progress(500);
    watchdog.progress(0);
    watchdog.progress(500);
    await Promise.resolve();
    expect(failure).toBeUndefined();
    watchdog.progress(10);
    await Promise.resolve();
    expect(failure?.message).toMatch(/restarted 2 times/);
    watchdog.stop();
  });
});
