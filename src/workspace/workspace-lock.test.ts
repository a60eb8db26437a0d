import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { describe, expect, it } from "vitest";
import { WorkspaceBusyError } from "../errors/errors.js";
import { gitRepo } from "../test-support/git-repo.js";
import { withWorkspaceLock, workspaceLockPath, type LockHolder } from "./workspace-lock.js";

function repoWithLock(holder: LockHolder | string): { root: string; lock: string } {
  const root = gitRepo({ "a.ts": "a\n" });
  const lock = workspaceLockPath(root);
  mkdirSync(`${root}/.builder`, { recursive: true });
  writeFileSync(lock, typeof holder === "string" ? holder : JSON.stringify(holder));
  return { root, lock };
}

/** The pid of a process that has exited (and so is dead). */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(child.stdout);
}

describe("the workspace lock serialises apply and undo", () => {
  it("a lock left by a dead process on this host is recovered", async () => {
    const { root, lock } = repoWithLock({
      pid: deadPid(),
      host: hostname(),
      started_at: new Date().toISOString(),
      command: "apply s.json",
    });
    expect(await withWorkspaceLock(root, async () => readFileSync(lock, "utf8"), { waitMs: 0 })).toContain(
      `"pid":${process.pid}`,
    );
    expect(existsSync(lock), "released after use").toBe(false);
  });

  it("a lock older than the bound is recovered even if its pid is alive (pids are reused)", async () => {
    const { root } = repoWithLock({
      pid: process.ppid,
      host: hostname(),
      started_at: new Date(Date.now() - 3_600_000).toISOString(),
      command: "undo",
    });
    await expect(withWorkspaceLock(root, async () => "ran", { waitMs: 0, staleMs: 60_000 })).resolves.toBe("ran");
  });

  it("an unreadable lock is recovered: Builder's own locks are always created complete", async () => {
    const { root } = repoWithLock("{garbage");
    await expect(withWorkspaceLock(root, async () => "ran", { waitMs: 0 })).resolves.toBe("ran");
  });

  it("a live holder is not broken: after the wait, a clear error names it and the lock stays", async () => {
    const holder = {
      pid: process.ppid,
      host: hostname(),
      started_at: new Date().toISOString(),
      command: "apply other.json",
    };
    const { root, lock } = repoWithLock(holder);
    let ran = false;
    const error = await withWorkspaceLock(root, async () => (ran = true), { waitMs: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WorkspaceBusyError);
    expect((error as Error).message).toContain(`pid ${process.ppid} on ${hostname()}`);
    expect((error as Error).message).toContain("builder apply other.json");
    expect(ran).toBe(false);
    expect(JSON.parse(readFileSync(lock, "utf8"))).toEqual(holder);
  });

  it("a second holder waits for the first to let go, and the lock is released when the work throws", async () => {
    const root = gitRepo({ "a.ts": "a\n" });
    const order: string[] = [];
    let release: () => void = () => undefined;
    let waiting: () => void = () => undefined;
    const secondWaits = new Promise<void>((resolve) => (waiting = resolve));
    const first = withWorkspaceLock(root, async () => {
      order.push("first in");
      await new Promise<void>((resolve) => (release = resolve));
      order.push("first out");
      throw new Error("failed on purpose");
    });
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (!existsSync(workspaceLockPath(root))) await new Promise<void>((resolve) => setImmediate(resolve));
    const second = withWorkspaceLock(root, async () => order.push("second in"), { onWait: () => waiting() });
    await secondWaits;
    release();
    await expect(first).rejects.toThrow("failed on purpose");
    await second;
    expect(order).toEqual(["first in", "first out", "second in"]);
    expect(existsSync(workspaceLockPath(root))).toBe(false);
  });
});
