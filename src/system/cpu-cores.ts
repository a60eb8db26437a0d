import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

/** Physical and logical core counts, and how the physical count was found. */
export interface CoreCount {
  physical: number;
  logical: number;
  /** "cpuinfo", "sysctl", or "logical" when the physical count could not be read (then it equals logical). */
  source: "cpuinfo" | "sysctl" | "logical";
}

/**
 * Counts physical cores in /proc/cpuinfo: distinct (physical id, core id) pairs. Returns undefined
 * when the file has no core ids (some ARM and virtual machines).
 */
export function parseCpuinfoPhysicalCores(cpuinfo: string): number | undefined {
  const cores = new Set<string>();
  for (const block of cpuinfo.split(/\n\s*\n/)) {
    const physical = /^physical id\s*:\s*(\d+)/m.exec(block)?.[1] ?? "0";
    const core = /^core id\s*:\s*(\d+)/m.exec(block)?.[1];
    if (core !== undefined) cores.add(`${physical}:${core}`);
  }
  return cores.size > 0 ? cores.size : undefined;
}

/**
 * Physical cores of this machine. llama.cpp generates fastest with at most one thread per physical
 * core; hyper-threads share the core's arithmetic units and slow it down.
 */
export function detectCores(): CoreCount {
  const logical = availableParallelism();
  if (process.platform === "linux") {
    try {
      const physical = parseCpuinfoPhysicalCores(readFileSync("/proc/cpuinfo", "utf8"));
      if (physical) return { physical: Math.min(physical, logical), logical, source: "cpuinfo" };
    } catch {
      // fall through
    }
  }
  if (process.platform === "darwin") {
    try {
      const physical = Number(
        execFileSync("sysctl", ["-n", "hw.physicalcpu"], { encoding: "utf8", timeout: 2000 }).trim(),
      );
      if (Number.isInteger(physical) && physical > 0) return { physical, logical, source: "sysctl" };
    } catch {
      // fall through
    }
  }
  return { physical: logical, logical, source: "logical" };
}
