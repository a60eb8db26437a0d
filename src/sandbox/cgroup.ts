import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import path from "node:path";

/** A pids cgroup made for one sandboxed run: the wrapper joins it, and it is removed after the run. */
export interface PidsCgroup {
  /** The file a process writes its pid into to join. */
  procsFile: string;
  /** Removes the cgroup (retrying while the killed tree is still being reaped). */
  dispose(): Promise<void>;
}

let sequence = 0;

/**
 * Creates a pids cgroup (v1 `pids` controller, or v2 where the pids controller is enabled for
 * Builder's own cgroup) capped at `maxProcesses`, when Builder may create one (root, or a delegated
 * cgroup); undefined otherwise. It is the only process limit that binds root: the kernel does not
 * apply RLIMIT_NPROC to uid 0.
 */
export function createPidsCgroup(maxProcesses: number): PidsCgroup | undefined {
  const base = pidsControllerDir();
  if (!base) return undefined;
  const dir = path.join(base, `builder-sandbox-${process.pid}-${(sequence += 1)}`);
  try {
    mkdirSync(dir);
  } catch {
    return undefined;
  }
  try {
    writeFileSync(path.join(dir, "pids.max"), String(maxProcesses));
  } catch {
    removeNow(dir);
    return undefined;
  }
  return { procsFile: path.join(dir, "cgroup.procs"), dispose: () => removeSoon(dir) };
}

/** Builder's own cgroup in the hierarchy that holds the pids controller, if any. */
function pidsControllerDir(): string | undefined {
  let lines: string[];
  try {
    lines = readFileSync("/proc/self/cgroup", "utf8").split("\n");
  } catch {
    return undefined;
  }
  for (const line of lines) {
    const [, controllers, own] = line.split(":");
    if (own === undefined || controllers === undefined) continue;
    const v1 = controllers.split(",").includes("pids") ? path.join("/sys/fs/cgroup/pids", own) : undefined;
    if (v1 && existsSync(path.join(v1, "cgroup.procs"))) return v1;
    if (controllers === "") {
      const v2 = path.join("/sys/fs/cgroup", own);
      const enabled = readOr(path.join(v2, "cgroup.subtree_control"));
      if (enabled.split(/\s+/).includes("pids")) return v2;
    }
  }
  return undefined;
}

function readOr(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function removeNow(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return !existsSync(dir);
  }
}

async function removeSoon(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt += 1) {
    if (removeNow(dir)) return;
    // The tree was killed; the kernel is still reaping it.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
