import { spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { isSameProcess, ownIdentity, processAlive, processStartTime } from "../../system/process-identity.js";
import { tempDir } from "../../test-support/fixtures.js";
import { hostPaths, recordIsLive, takeHostLock, type HostRecord } from "./host-files.js";

function record(fields: Partial<HostRecord>): HostRecord {
  return {
    pid: 1,
    kind: "background",
    started_at: new Date().toISOString(),
    socket: "x.sock",
    log: "x.log",
    version: "0",
    ...fields,
  };
}

describe("process identity (pid plus start time)", () => {
  it("knows this process, and not a pid whose start time differs (a reused pid)", () => {
    const me = ownIdentity();
    expect(me.startTime).toBeDefined();
    expect(isSameProcess(me, "anything")).toBe(true);
    expect(isSameProcess({ pid: process.pid, startTime: "1" }, "anything")).toBe(false);
    expect(processStartTime(2 ** 22 + 17)).toBeUndefined();
    expect(isSameProcess({ pid: 2 ** 22 + 17, startTime: "1" }, "x")).toBe(false);
  });
});

describe("the host lock (host.json)", () => {
  it("is taken when free, and refused while its live holder runs", async () => {
    const paths = hostPaths(tempDir("bh-"));
    const first = await takeHostLock(paths, "background", "1");
    expect(first.taken).toBe(true);
    const second = await takeHostLock(paths, "serve", "1");
    expect(second).toMatchObject({ taken: false, holder: { pid: process.pid, kind: "background" } });
  });

  it("replaces the record and socket of a host that is gone", async () => {
    const paths = hostPaths(tempDir("bh-"));
    writeFileSync(paths.record, JSON.stringify(record({ pid: 2 ** 22 + 17, startTime: "5" })));
    writeFileSync(paths.socket, "");
    const lock = await takeHostLock(paths, "background", "1");
    expect(lock.taken).toBe(true);
    expect(existsSync(paths.socket)).toBe(false);
    expect(JSON.parse(readFileSync(paths.record, "utf8"))).toMatchObject({ pid: process.pid });
  });

  it("treats a record whose pid now belongs to an unrelated live process as stale, and never signals that process", async () => {
    const unrelated = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      const pid = unrelated.pid ?? 0;
      await new Promise((resolve) => setTimeout(resolve, 50));
      const paths = hostPaths(tempDir("bh-"));
      const leftover = record({ pid, startTime: "12345" });
      writeFileSync(paths.record, JSON.stringify(leftover));
      expect(recordIsLive(leftover)).toBe(false);
      const lock = await takeHostLock(paths, "background", "1");
      expect(lock.taken).toBe(true);
      expect(processAlive(pid)).toBe(true);
      expect(unrelated.exitCode).toBeNull();
    } finally {
      unrelated.kill("SIGKILL");
    }
  });

  it("waits for a record that is being written, and takes over one left unreadable", async () => {
    const paths = hostPaths(tempDir("bh-"));
    writeFileSync(paths.record, "");
    const started = Date.now();
    const lock = await takeHostLock(paths, "background", "1");
    // A fresh unreadable record is waited for (2 s), then counted as garbage and replaced.
    expect(lock.taken).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1500);
  });
});
