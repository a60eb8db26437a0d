import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runCli } from "../test-support/cli.js";
import { gitRepo, treeSnapshot } from "../test-support/git-repo.js";
import { applyEdits } from "./apply.js";
import { WorkspaceSandbox } from "./sandbox.js";

/** The built library (e2e tests run after `npm run build`): the child process undoes with it and gets killed. */
const UNDO_JS = fileURLToPath(new URL("../../dist/workspace/undo.js", import.meta.url));
const SANDBOX_JS = fileURLToPath(new URL("../../dist/workspace/sandbox.js", import.meta.url));

/** A child that undoes run "r1" and SIGKILLs itself just before renaming `CRASH_AT`'s restored content into place. */
const CHILD = `
const { undoRun } = await import(process.env.UNDO_JS);
const { WorkspaceSandbox } = await import(process.env.SANDBOX_JS);
const sandbox = await WorkspaceSandbox.open({ root: process.env.ROOT });
await undoRun({ sandbox, runId: "r1", hooks: { beforeRename: (f) => { if (f === process.env.CRASH_AT) process.kill(process.pid, "SIGKILL"); } } });
process.stdout.write("done\\n");
`;

function undoAndCrash(root: string, crashAt: string): Promise<NodeJS.Signals | null> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
      env: { ...process.env, ROOT: root, CRASH_AT: crashAt, UNDO_JS, SANDBOX_JS, BUILDER_LOG_LEVEL: "silent" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      code !== 0 && signal === null ? reject(new Error(`child failed: ${stderr}`)) : resolve(signal),
    );
  });
}

/** Every temp file Builder could have left in the source tree (outside .git and .builder). */
function tempFiles(root: string): string[] {
  return (readdirSync(root, { recursive: true }) as string[])
    .map((p) => p.split(path.sep).join("/"))
    .filter((p) => !p.startsWith(".git/") && !p.startsWith(".builder/") && p.endsWith(".tmp"));
}

const OLD = { "src/a.ts": "old a\n".repeat(500), "src/b.ts": "old b\n".repeat(500) };

async function appliedRepo(): Promise<{ root: string; before: Record<string, string> }> {
  const root = gitRepo(OLD);
  const before = treeSnapshot(root);
  const sandbox = await WorkspaceSandbox.open({ root });
  await applyEdits(
    [
      { kind: "write", path: "src/a.ts", content: "NEW A\n".repeat(900) },
      { kind: "write", path: "src/b.ts", content: "NEW B\n".repeat(900) },
    ],
    { sandbox, runId: "r1" },
  );
  return { root, before };
}

describe("kill -9 during undo leaves no temp file behind once the next command runs", () => {
  it("the next builder undo sweeps the killed undo's temp file and finishes the undo", async () => {
    const { root, before } = await appliedRepo();
    expect(await undoAndCrash(root, "src/b.ts")).toBe("SIGKILL");
    expect(tempFiles(root), "the crash left the restored content in a temp file beside the target").toEqual([
      expect.stringMatching(/^src\/\.b\.ts\.builder-undo-.*\.tmp$/),
    ]);

    const undo = await runCli(["undo"], { cwd: root });
    expect(undo.code, undo.stderr).toBe(0);
    expect(tempFiles(root)).toEqual([]);
    expect(treeSnapshot(root)).toEqual(before);
  });

  it("the next builder apply sweeps it too", async () => {
    const { root } = await appliedRepo();
    expect(await undoAndCrash(root, "src/b.ts")).toBe("SIGKILL");
    expect(tempFiles(root).length).toBe(1);
    const apply = await runCli(["apply", "-"], {
      cwd: root,
      stdin: JSON.stringify({ file_path: "src/c.ts", suggested_code: "export const c = 1;\n" }),
    });
    expect(apply.code, apply.stderr).toBe(0);
    expect(tempFiles(root)).toEqual([]);
  });
});
