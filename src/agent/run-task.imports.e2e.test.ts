import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

/** The TypeScript compiler's files that a fresh Node process holds after importing `modules` (in order). */
function typescriptFilesAfterImporting(modules: string[]): number {
  const script = [
    'import { createRequire } from "node:module";',
    ...modules.map((m) => `await import(${JSON.stringify(DIST + m)});`),
    "const cache = createRequire(import.meta.url).cache;",
    'console.log(Object.keys(cache).filter((file) => file.includes("/node_modules/typescript/")).length);',
  ].join("\n");
  return Number(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim());
}

describe("starting a builder run process", () => {
  it("does not load the TypeScript compiler for the CLI and the run path until a run verifies", () => {
    expect(typescriptFilesAfterImporting(["cli/program.js", "agent/run-task.js"])).toBe(0);
  });

  it("sees the compiler once verification's TypeScript project is imported (the probe above can fail)", () => {
    expect(typescriptFilesAfterImporting(["agent/run-task.js", "verify/ts-project.js"])).toBeGreaterThan(0);
  });
});
