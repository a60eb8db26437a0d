import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import type { BenchSection } from "./types.js";

/** The built bench entry point, as `npm run bench` runs it (tests run after `npm run build`). */
const BENCH = fileURLToPath(new URL("../../dist/bench/main.js", import.meta.url));

/** Every registered module, so that one added to the bench is covered without touching this file. */
const MODULES = execFileSync(process.execPath, [BENCH, "--list"], { encoding: "utf8" }).split("\n").filter(Boolean);

/** A module's smallest setting still loads models and starts servers: minutes on a busy 2-core machine. */
const MODULE_TIMEOUT_MS = 300_000;

const running = new Set<ChildProcess>();

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BENCH, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    running.add(child);
    child.once("exit", () => running.delete(child));
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

// The figures of a smoke run mean nothing (one round, small inputs, a busy machine): only that each module runs to the end.
describe("npm run bench -- --smoke", () => {
  // A module that timed out is stopped, so that it does not run on under the next files.
  afterEach(() => {
    for (const child of running) child.kill("SIGKILL");
  });

  it("lists the bench modules", () => {
    expect(MODULES).toEqual(
      expect.arrayContaining(["engine", "serve", "context", "verify", "stats", "format", "warm"]),
    );
  });

  it.each(MODULES)(
    "runs the %s module to the end on its smallest setting",
    async (id) => {
      const { code, stdout, stderr } = await runBench([id, "--smoke", "--json"]);
      expect({ code, stderr: code === 0 ? "" : stderr }).toEqual({ code: 0, stderr: "" });
      const sections = JSON.parse(stdout) as BenchSection[];
      expect(sections).toHaveLength(1);
      expect(sections[0]?.results.length).toBeGreaterThan(0);
      for (const result of sections[0]?.results ?? []) expect(Number.isFinite(result.value), result.name).toBe(true);
    },
    MODULE_TIMEOUT_MS,
  );
});
