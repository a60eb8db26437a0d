import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { BenchSection } from "./types.js";

/** The built bench entry point, as `npm run bench` runs it (tests run after `npm run build`). */
const BENCH = fileURLToPath(new URL("../../dist/bench/main.js", import.meta.url));

/** Every registered module, in the order they run, so that one added to the bench is covered without touching this file. */
const MODULES = execFileSync(process.execPath, [BENCH, "--list"], { encoding: "utf8" }).split("\n").filter(Boolean);

/** A module's smallest setting still loads models and starts servers: minutes on a busy 2-core machine. */
const MODULE_TIMEOUT_MS = 300_000;

interface BenchRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

let child: ChildProcess | undefined;
let smoke: Promise<BenchRun> | undefined;

/**
 * `npm run bench -- --smoke --json`: every module in one process, as users run the bench, started by
 * the first test that needs it. One process instead of one per module spares each its start-up (the
 * imports and the llama.cpp runtime, seconds of a 2-core machine's CPU).
 */
function smokeRun(): Promise<BenchRun> {
  smoke ??= new Promise((resolve, reject) => {
    const started = spawn(process.execPath, [BENCH, "--smoke", "--json"], { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    let stdout = "";
    let stderr = "";
    started.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    started.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    started.on("error", reject);
    started.on("close", (code) => resolve({ code, stdout, stderr }));
  });
  return smoke;
}

/** The modules the run started, in order (`running bench: <id>…` on stderr). */
function startedModules(stderr: string): string[] {
  return [...stderr.matchAll(/^running bench: (\S+?)…$/gm)].map((match) => match[1] ?? "");
}

// The figures of a smoke run mean nothing (one round, small inputs, a busy machine): only that each module runs to the end.
describe("npm run bench -- --smoke", () => {
  // A run that timed out is stopped, so that it does not run on under the next files.
  afterAll(() => {
    child?.kill("SIGKILL");
  });

  it("lists the bench modules", () => {
    expect(MODULES).toEqual(
      expect.arrayContaining(["engine", "serve", "context", "verify", "stats", "format", "warm"]),
    );
  });

  // Each module's test waits for the one run; the whole run's time is the first one's budget.
  it.each(MODULES)(
    "runs the %s module to the end on its smallest setting",
    async (id) => {
      const index = MODULES.indexOf(id);
      const { code, stdout, stderr } = await smokeRun();
      // A module that fails ends the run before any figure is printed: every module's test fails, showing its error.
      expect({ started: startedModules(stderr)[index], code, stderr: code === 0 ? "" : stderr }).toEqual({
        started: id,
        code: 0,
        stderr: "",
      });
      const sections = JSON.parse(stdout) as BenchSection[];
      expect(sections).toHaveLength(MODULES.length);
      const section = sections[index];
      expect(section?.results.length).toBeGreaterThan(0);
      for (const result of section?.results ?? []) expect(Number.isFinite(result.value), result.name).toBe(true);
    },
    MODULE_TIMEOUT_MS * MODULES.length,
  );
});
