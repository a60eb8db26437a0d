import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../test-support/cli.js";
import { gitRepo } from "../../test-support/git-repo.js";

const lines = (count: number, make: (i: number) => string): string =>
  Array.from({ length: count }, (_, i) => make(i)).join("\n") + "\n";

/** A 200,000-line file through the CLI's apply path: the diff and the write must not overflow the stack. */
describe("builder apply with a 200,000-line file", () => {
  it("--dry-run prints the diff of a whole-file rewrite, and apply writes it", async () => {
    const before = lines(200_000, (i) => `export const v${i} = ${i};`);
    const after = lines(200_000, (i) => `export const w${i} = ${i * 2};`);
    const root = gitRepo({ "builder.config.json": "{}\n", "src/big.ts": before });
    const suggestion = JSON.stringify({
      file_path: "src/big.ts",
      suggested_code: after,
      explanation: "rewrite",
      tests: "",
    });

    const dry = await runCli(["apply", "-", "--dry-run"], { cwd: root, stdin: suggestion });
    expect(dry.code, dry.stderr.slice(-2000)).toBe(0);
    expect(dry.stdout.startsWith("diff --git a/src/big.ts b/src/big.ts\n")).toBe(true);
    expect(dry.stdout).toContain("-export const v199999 = 199999;\n");
    expect(dry.stdout).toContain("+export const w199999 = 399998;\n");
    expect(readFileSync(path.join(root, "src", "big.ts"), "utf8")).toBe(before);

    const applied = await runCli(["apply", "-"], { cwd: root, stdin: suggestion });
    expect(applied.code, applied.stderr.slice(-2000)).toBe(0);
    expect(readFileSync(path.join(root, "src", "big.ts"), "utf8") === after).toBe(true);
  });
});
