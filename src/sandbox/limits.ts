import { execFileSync } from "node:child_process";

import type { SandboxLimits } from "./types.js";

/**
 * `prlimit` arguments that set the per-process limits before `argv` runs. RLIMIT_DATA rather than
 * RLIMIT_AS: Node and V8 reserve tens of gigabytes of address space they never touch, so an address
 * limit breaks every Node process, while the data limit counts only memory that can be written.
 * RLIMIT_NPROC counts every process of the user, so it is set to what the user already runs plus the
 * sandbox's share; Linux ignores it for root, who gets a pids cgroup instead (see `cgroup.ts`).
 */
export function prlimitArgv(argv: readonly string[], limits: SandboxLimits, isRoot: boolean): string[] {
  const args = ["prlimit", `--data=${limits.dataBytes}`, `--cpu=${limits.cpuSeconds}`];
  if (!isRoot) args.push(`--nproc=${userTaskCount() + limits.maxProcesses}`);
  return [...args, "--", ...argv];
}

/** How many tasks (threads included: RLIMIT_NPROC counts them) the current user runs now. */
function userTaskCount(): number {
  try {
    const out = execFileSync("ps", ["-L", "-u", String(process.getuid?.() ?? 0), "-o", "lwp="], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return out.split("\n").filter((line) => line.trim() !== "").length;
  } catch {
    // Without ps, assume a busy desktop: better a loose limit than tests that cannot start.
    return 4096;
  }
}
