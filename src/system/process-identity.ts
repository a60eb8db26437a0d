import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Telling a process apart from one that reused its pid. A pid alone names a process only while it
 * lives: once it exits, the kernel may hand the number to anything (a shell, an editor). Builder
 * records a process's start time beside its pid, and signals a pid only when both still match.
 */

/** What identifies one process for its whole life: its pid and when it started. */
export interface ProcessIdentity {
  pid: number;
  /**
   * When it started, as the system tells it: on Linux the start time in clock ticks after boot
   * (/proc/<pid>/stat, field 22); elsewhere `ps -o lstart`. Undefined where neither can be read.
   */
  startTime?: string;
}

/** Whether a process with this id exists (one that belongs to another user counts). */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** The start time of `pid`, or undefined when it is gone or the system does not say. */
export function processStartTime(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === "linux") {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      // The command name (field 2) is in parentheses and may hold spaces: count fields after its ")".
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return fields[19];
    } catch {
      return undefined;
    }
  }
  try {
    const text = execFileSync("ps", ["-o", "lstart=", "-p", String(pid)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}

/** The command line of `pid` (arguments joined by spaces), or undefined when it cannot be read. */
export function processCommandLine(pid: number): string | undefined {
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  if (process.platform === "linux") {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    } catch {
      return undefined;
    }
  }
  try {
    return execFileSync("ps", ["-o", "command=", "-p", String(pid)], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
  } catch {
    return undefined;
  }
}

/** This process's identity, to record in a lock or info file. */
export function ownIdentity(): ProcessIdentity {
  return { pid: process.pid, startTime: processStartTime(process.pid) };
}

/**
 * Whether `recorded` is still the same live process: its pid exists and started when recorded. Where
 * no start time was recorded or can be read, the command line must contain `marker` instead (the
 * hidden argument the process was started with). A pid that now belongs to another process is not it.
 */
export function isSameProcess(recorded: ProcessIdentity, marker: string): boolean {
  if (!processAlive(recorded.pid)) return false;
  const now = processStartTime(recorded.pid);
  if (recorded.startTime !== undefined && now !== undefined) return now === recorded.startTime;
  return processCommandLine(recorded.pid)?.includes(marker) ?? false;
}
