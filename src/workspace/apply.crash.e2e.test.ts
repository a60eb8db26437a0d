import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { gitRepo, treeSnapshot } from "../test-support/git-repo.js";
import { listManifests } from "./backups.js";
import { WorkspaceSandbox } from "./sandbox.js";
import { undoRun } from "./undo.js";

/** The built library (e2e tests run after `npm run build`): the child process applies with it and gets killed. */
const APPLY_JS = fileURLToPath(new URL("../../dist/workspace/apply.js", import.meta.url));
const SANDBOX_JS = fileURLToPath(new URL("../../dist/workspace/sandbox.js", import.meta.url));

/** A child that applies `edits` and SIGKILLs itself at `crashAt` ("afterBackup", "beforeRename:<file>", "afterWrite:<file>"), or runs to the end. */
const CHILD = `
const { applyEdits } = await import(process.env.APPLY_JS);
const { WorkspaceSandbox } = await import(process.env.SANDBOX_JS);
const [point, file] = (process.env.CRASH_AT ?? "").split(":");
const crash = (where, at) => { if (where === point && (file === undefined || file === at)) process.kill(process.pid, "SIGKILL"); };
const sandbox = await WorkspaceSandbox.open({ root: process.env.ROOT });
process.stdout.write("start\\n");
await applyEdits(JSON.parse(process.env.EDITS), {
  sandbox, runId: "crash-run",
  hooks: { afterBackup: () => crash("afterBackup"), beforeRename: (f) => crash("beforeRename", f), afterWrite: (f) => crash("afterWrite", f) },
});
process.stdout.write("done\\n");
`;

function runChild(
  root: string,
  edits: unknown,
  crashAt: string,
  killAfterStartMs?: number,
): Promise<{ signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
      env: {
        ...process.env,
        ROOT: root,
        EDITS: JSON.stringify(edits),
        CRASH_AT: crashAt,
        APPLY_JS,
        SANDBOX_JS,
        BUILDER_LOG_LEVEL: "silent",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (killAfterStartMs !== undefined && stdout.includes("start"))
        setTimeout(() => child.kill("SIGKILL"), killAfterStartMs);
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      code !== 0 && signal === null ? reject(new Error(`child failed: ${stderr}`)) : resolve({ signal, stdout }),
    );
  });
}

const OLD = { "src/a.ts": "old a\n".repeat(1000), "src/b.ts": "old b\n".repeat(1000) };
const NEW = {
  "src/a.ts": "NEW A\n".repeat(2000),
  "src/b.ts": "NEW B\n".repeat(500),
  "src/added/c.ts": "NEW C\n".repeat(800),
};
const EDITS = Object.entries(NEW).map(([file, content]) => ({ kind: "write", path: file, content }));

/** Each target holds exactly its old content (or is absent if it was new) or exactly its new content. */
function expectOldOrNew(root: string): Record<string, "old" | "new"> {
  const states: Record<string, "old" | "new"> = {};
  for (const [file, next] of Object.entries(NEW)) {
    let content: string | undefined;
    try {
      content = readFileSync(path.join(root, file), "utf8");
    } catch {
      content = undefined;
    }
    const previous = OLD[file as keyof typeof OLD];
    expect(
      content === next || content === previous,
      `${file} is neither old nor new (${content?.length ?? "absent"} chars)`,
    ).toBe(true);
    states[file] = content === next ? "new" : "old";
  }
  return states;
}

describe("a crash while applying leaves every file old or new, and undo recovers", () => {
  const points = [
    "afterBackup",
    "beforeRename:src/a.ts",
    "afterWrite:src/a.ts",
    "beforeRename:src/added/c.ts",
    "afterWrite:src/added/c.ts",
  ];
  for (const point of points) {
    it(`crash at ${point}`, async () => {
      const root = gitRepo(OLD);
      const before = treeSnapshot(root);
      const { signal, stdout } = await runChild(root, EDITS, point);
      expect(signal).toBe("SIGKILL");
      expect(stdout).not.toContain("done");
      const states = expectOldOrNew(root);
      if (point === "afterWrite:src/a.ts")
        expect(states).toEqual({ "src/a.ts": "new", "src/b.ts": "old", "src/added/c.ts": "old" });
      if (point === "afterWrite:src/added/c.ts") expect(Object.values(states)).toEqual(["new", "new", "new"]);
      const [manifest] = (await listManifests(await WorkspaceSandbox.open({ root }))).manifests;
      expect(manifest?.status).toBe("applying");

      const sandbox = await WorkspaceSandbox.open({ root });
      await undoRun({ sandbox, runId: "crash-run" });
      expect(treeSnapshot(root), "undo restores the tree, temp files and created folders included").toEqual(before);
    });
  }

  it("a kill at an arbitrary moment (no hook) also leaves only old or new files", async () => {
    for (const delay of [0, 2, 5, 10, 20]) {
      const root = gitRepo(OLD);
      const before = treeSnapshot(root);
      await runChild(root, EDITS, "", delay);
      expectOldOrNew(root);
      // A kill before the manifest is complete left the files untouched; after it, undo recovers.
      if ((await listManifests(await WorkspaceSandbox.open({ root }))).manifests.length > 0)
        await undoRun({ sandbox: await WorkspaceSandbox.open({ root }), runId: "crash-run" });
      expect(treeSnapshot(root), `killed ${delay} ms after start`).toEqual(before);
    }
  });
});
