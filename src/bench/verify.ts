import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { resolveVerifySettings } from "../config/verify-settings.js";
import { round } from "../format/numbers.js";
import type { BuilderTask } from "../task/schema.js";
import { Verifier, type VerificationReport } from "../verify/verify.js";
import type { BenchModule, BenchResult, BenchSection, BenchSize } from "./types.js";

/**
 * Files in the generated project (the changed one is src/mod100.ts), warm rounds, and warm rounds each
 * way for the sandbox ratio: `smoke` only runs every step.
 */
const SIZES: Record<BenchSize, { files: number; warmRounds: number; sandboxRounds: number }> = {
  full: { files: 200, warmRounds: 2, sandboxRounds: 3 },
  smoke: { files: 102, warmRounds: 1, sandboxRounds: 1 },
};
/** Warm typecheck target for a one-file change (the issue's). */
const WARM_TYPECHECK_TARGET_MS = 2000;
/** Sandboxed ÷ unsandboxed wall time of a warm round (issue 20's target). */
const SANDBOX_OVERHEAD_TARGET = 1.15;

const TASK: BuilderTask = {
  task_id: "bench-verify",
  objective: "change one module",
  files: ["src/mod100.ts"],
  acceptance: ["has vitest tests"],
  constraints: { loc_max: 200, pack: "" },
};

/**
 * Verification cost for a one-file change in a generated 200-file TypeScript project (a git repo):
 * making the scratch copy, then each check cold (first round) and warm (the next rounds, with the
 * language service kept alive), as in the repair loop.
 */
export const verifyBench: BenchModule = {
  id: "verify",
  async run(size: BenchSize): Promise<BenchSection> {
    const { files, warmRounds, sandboxRounds } = SIZES[size];
    const root = generateProject(files);
    try {
      const openStarted = performance.now();
      const verifier = await Verifier.open(root, resolveVerifySettings(undefined, undefined, undefined));
      const openMs = performance.now() - openStarted;
      try {
        const context = { task: TASK, knowledge: "" };
        const cold = await verifier.verify(change(1), context);
        const warm: VerificationReport[] = [];
        for (let round = 0; round < warmRounds; round++) warm.push(await verifier.verify(change(round + 2), context));
        for (const report of [cold, ...warm]) {
          if (report.verdict !== "VERIFIED")
            throw new Error(`bench change did not verify: ${JSON.stringify(report.checks)}`);
        }
        const warmTypecheck = Math.max(...warm.map((r) => ms(r, "typecheck")));
        const results: BenchResult[] = [
          { name: `scratch copy (git worktree) of a ${files}-file project`, value: round(openMs, 0), unit: "ms" },
          { name: "typecheck, one-file change, cold", value: round(ms(cold, "typecheck"), 0), unit: "ms" },
          {
            name: "typecheck, one-file change, warm",
            value: round(warmTypecheck, 0),
            unit: "ms",
            target: `< ${WARM_TYPECHECK_TARGET_MS} ms`,
            pass: warmTypecheck < WARM_TYPECHECK_TARGET_MS,
            detail: `slowest of ${warm.length} warm rounds: ${warm.map((r) => round(ms(r, "typecheck"), 0)).join(", ")} ms`,
          },
          {
            name: "rules, cold / warm",
            value: round(ms(cold, "rules"), 1),
            unit: "ms",
            detail: `warm ${warm.map((r) => round(ms(r, "rules"), 1)).join(", ")} ms`,
          },
          { name: "tests (vitest, one file), cold", value: round(ms(cold, "tests"), 0), unit: "ms" },
          {
            name: "tests (vitest, one file), warm",
            value: round(Math.max(...warm.map((r) => ms(r, "tests"))), 0),
            unit: "ms",
          },
          {
            name: "whole verification round, warm",
            value: round(Math.max(...warm.map((r) => r.durationMs)), 0),
            unit: "ms",
          },
          await sandboxOverhead(root, verifier, sandboxRounds),
        ];
        return { title: `Verification (one-file change in a ${files}-file TypeScript project)`, results };
      } finally {
        await verifier.dispose();
      }
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  },
};

/**
 * Warm rounds with the default sandbox (`verify.sandbox` auto) against the same rounds with it off,
 * alternated so that load on the machine falls on both alike: the ratio of their median wall times.
 */
async function sandboxOverhead(root: string, sandboxed: Verifier, rounds: number): Promise<BenchResult> {
  const settings = resolveVerifySettings({ sandbox: "off" }, undefined, undefined);
  const plain = await Verifier.open(root, settings);
  try {
    const context = { task: TASK, knowledge: "" };
    await plain.verify(change(4), context);
    const times: { on: number[]; off: number[] } = { on: [], off: [] };
    for (let i = 0; i < rounds; i++) {
      times.on.push((await sandboxed.verify(change(10 + i), context)).durationMs);
      times.off.push((await plain.verify(change(20 + i), context)).durationMs);
    }
    const ratio = median(times.on) / median(times.off);
    return {
      name: "sandboxed ÷ unsandboxed, warm round",
      value: round(ratio, 2),
      unit: "×",
      target: `≤ ${SANDBOX_OVERHEAD_TARGET}`,
      pass: ratio <= SANDBOX_OVERHEAD_TARGET,
      detail: `${sandboxed.sandboxName}: ${times.on.map((t) => round(t, 0)).join(", ")} ms; off: ${times.off.map((t) => round(t, 0)).join(", ")} ms`,
    };
  } finally {
    await plain.dispose();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

function ms(report: VerificationReport, check: string): number {
  return report.checks.find((c) => c.name === check)?.durationMs ?? 0;
}

/** A one-file change to src/mod100.ts (imported by two modules) and its test; `n` varies the body. */
function change(n: number): Array<{ path: string; content: string }> {
  return [
    { path: "src/mod100.ts", content: moduleSource(100, n) },
    {
      path: "src/mod100.test.ts",
      content: `import { describe, expect, it } from "vitest";\nimport { value100 } from "./mod100.js";\n\ndescribe("mod100", () => {\n  it("computes", () => {\n    expect(typeof value100(1)).toBe("number");\n  });\n});\n`,
    },
  ];
}

function moduleSource(i: number, variant = 0): string {
  const deps = i === 0 ? [] : [...new Set([i - 1, Math.floor(i / 2)])];
  const imports = deps.map((d) => `import { value${d}, type Shape${d} } from "./mod${d}.js";`).join("\n");
  const sum = deps.map((d) => `value${d}(x)`).join(" + ") || "x";
  const fields = deps.map((d) => `  dep${d}?: Shape${d};`).join("\n");
  return `${imports}\n\n/** Module ${i}'s shape. */\nexport interface Shape${i} {\n  id: number;\n  name: string;\n${fields}\n}\n\n/** Module ${i}'s value. */\nexport function value${i}(x: number): number {\n  return x > ${variant + 3} ? x : ${sum === "x" ? "x" : `(${sum}) % 1000`} + ${variant};\n}\n\n/** Builds a shape. */\nexport function make${i}(id: number): Shape${i} {\n  return { id, name: \`m${i}-\${id}\` };\n}\n`;
}

/** Writes the project: 200 modules in a dependency chain, a strict tsconfig, vitest, one commit. */
function generateProject(count: number): string {
  const root = mkdtempSync(path.join(tmpdir(), "builder-bench-verify-"));
  mkdirSync(path.join(root, "src"));
  writeFileSync(
    path.join(root, "package.json"),
    JSON.stringify({
      name: "bench",
      private: true,
      type: "module",
      scripts: { test: "vitest run" },
      devDependencies: { vitest: "*" },
    }),
  );
  writeFileSync(
    path.join(root, "tsconfig.json"),
    JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: ["node"],
      },
      include: ["src"],
    }),
  );
  writeFileSync(path.join(root, ".gitignore"), "node_modules\n");
  for (let i = 0; i < count; i++) writeFileSync(path.join(root, "src", `mod${i}.ts`), moduleSource(i));
  symlinkSync(fileURLToPath(new URL("../../node_modules", import.meta.url)), path.join(root, "node_modules"));
  const git = (...args: string[]): void => {
    execFileSync("git", ["-C", root, "-c", "user.email=bench@example.com", "-c", "user.name=bench", ...args], {
      stdio: "ignore",
    });
  };
  git("init", "-q");
  git("add", "-A");
  git("commit", "-q", "-m", "bench project");
  return root;
}
