import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { gatherWorkspaceContext } from "../context/workspace-context.js";
import { tempDir } from "../test-support/fixtures.js";
import { gitRepo } from "../test-support/git-repo.js";
import { startSymlinkSwapper, type SymlinkSwapper } from "../test-support/symlink-swapper.js";
import type { BuilderTask } from "../task/schema.js";
import { applyEdits } from "./apply.js";
import { WorkspaceSandbox } from "./sandbox.js";

/** Everything under `dir`, recursively, as relative paths. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" }).sort();
}

let swapper: SymlinkSwapper | undefined;
afterEach(async () => {
  await swapper?.stop();
  swapper = undefined;
});

/**
 * A folder of the workspace swapped for a link to outside, over and over, while Builder works: the
 * check (the sandbox) and the use (open, write, rename) must be the same object, so nothing is ever
 * written outside and nothing from outside is read. Before the fix, a run here had applies write
 * outside (8 of 100) and context reads carry outside content (2 to 7 of 40).
 */
describe("symbolic-link races against the sandbox", () => {
  it("apply never writes outside the workspace while a parent folder is swapped for a link", async () => {
    const root = gitRepo({ "sub/deep/keep.ts": "export const keep = 1;\n" });
    const outside = tempDir("builder-outside-");
    mkdirSync(path.join(outside, "deep"));
    const sandbox = await WorkspaceSandbox.open({ root });
    swapper = startSymlinkSwapper(path.join(root, "sub"), outside);
    const outcomes = new Map<string, number>();
    for (let trial = 0; trial < 100; trial += 1) {
      const edits = [
        { kind: "write" as const, path: "sub/deep/keep.ts", content: `export const keep = ${trial};\n` },
        { kind: "write" as const, path: `sub/new-${trial}/file.ts`, content: `export const n = ${trial};\n` },
      ];
      const outcome = await applyEdits(edits, {
        sandbox,
        runId: `race-${trial}`,
        logger: pino({ level: "silent" }),
      }).then(
        () => "applied",
        (error: unknown) => (error as { code?: string }).code ?? String(error),
      );
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    await swapper.stop();
    swapper = undefined;
    expect(listing(outside), JSON.stringify([...outcomes])).toEqual(["deep"]);
  }, 60_000);

  it("the prompt never carries content from outside while a folder is swapped for a link", async () => {
    const root = gitRepo({
      "sub/a.ts": 'import { b } from "./b.js";\nexport const insideA = b;\n',
      "sub/b.ts": "export const b = 1;\n",
    });
    const outside = tempDir("builder-outside-");
    writeFileSync(
      path.join(outside, "a.ts"),
      'import { b } from "./b.js";\nexport const OUTSIDE_SECRET_A = "leaked";\n',
    );
    writeFileSync(path.join(outside, "b.ts"), 'export const OUTSIDE_SECRET_B = "leaked";\n');
    const sandbox = await WorkspaceSandbox.open({ root });
    const task: BuilderTask = {
      task_id: "race",
      objective: "change insideA",
      files: ["sub/a.ts"],
      acceptance: [],
      constraints: { loc_max: 50, pack: "" },
    };
    swapper = startSymlinkSwapper(path.join(root, "sub"), outside);
    const leaks: string[] = [];
    for (let trial = 0; trial < 40; trial += 1) {
      const context = await gatherWorkspaceContext(sandbox, task).catch(() => undefined);
      const shown = JSON.stringify(context ?? {});
      if (shown.includes("OUTSIDE_SECRET")) leaks.push(`trial ${trial}`);
    }
    expect(leaks).toEqual([]);
  }, 60_000);
});
