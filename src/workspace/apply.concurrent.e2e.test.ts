import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../test-support/cli.js";
import { tempDir } from "../test-support/fixtures.js";
import { gitRepo } from "../test-support/git-repo.js";
import { sha256 } from "./file-state.js";

/** The built library (e2e tests run after `npm run build`). */
const APPLY_JS = fileURLToPath(new URL("../../dist/workspace/apply.js", import.meta.url));
const SANDBOX_JS = fileURLToPath(new URL("../../dist/workspace/sandbox.js", import.meta.url));

/**
 * A child that applies one edit to src/a.ts, expecting its original hash. With GO_FILE set it stops
 * after its backups are written (its checks done, no file touched yet) until that file exists. It
 * prints "paused", "waiting" (for the workspace lock), then "ok" or the error code.
 */
const CHILD = `
const { existsSync } = await import("node:fs");
const { applyEdits } = await import(process.env.APPLY_JS);
const { WorkspaceSandbox } = await import(process.env.SANDBOX_JS);
const sandbox = await WorkspaceSandbox.open({ root: process.env.ROOT });
const go = process.env.GO_FILE;
try {
  await applyEdits([{ kind: "write", path: "src/a.ts", content: process.env.CONTENT, expected: process.env.EXPECTED }], {
    sandbox, runId: process.env.RUN_ID,
    lock: { onWait: () => process.stdout.write("waiting\\n") },
    hooks: { afterBackup: async () => { if (!go) return; process.stdout.write("paused\\n"); while (!existsSync(go)) await new Promise((r) => setTimeout(r, 20)); } },
  });
  process.stdout.write("ok\\n");
} catch (error) {
  process.stdout.write((error.code ?? String(error)) + "\\n");
}
`;

interface Child {
  process: ChildProcessWithoutNullStreams;
  stdout: () => string;
  /** Resolves when stdout has `line` or the child has exited. */
  until: (line: string) => Promise<void>;
  done: Promise<string>;
}

function child(root: string, runId: string, content: string, goFile?: string): Child {
  const proc = spawn(process.execPath, ["--input-type=module", "-e", CHILD], {
    env: {
      ...process.env,
      ROOT: root,
      RUN_ID: runId,
      CONTENT: content,
      EXPECTED: sha256(ORIGINAL),
      GO_FILE: goFile ?? "",
      APPLY_JS,
      SANDBOX_JS,
      BUILDER_LOG_LEVEL: "silent",
    },
  });
  let out = "";
  let exited = false;
  const waiters: Array<() => void> = [];
  const wake = (): void => waiters.splice(0).forEach((w) => w());
  proc.stdout.on("data", (chunk: Buffer) => {
    out += chunk.toString();
    wake();
  });
  let stderr = "";
  proc.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<string>((resolve, reject) => {
    proc.on("error", reject);
    proc.on("close", (code) => {
      exited = true;
      wake();
      if (code !== 0) reject(new Error(`child failed: ${stderr}`));
      else resolve(out.trim().split("\n").at(-1) ?? "");
    });
  });
  const until = async (line: string): Promise<void> => {
    while (!exited && !out.split("\n").includes(line)) await new Promise<void>((resolve) => waiters.push(resolve));
  };
  return { process: proc, stdout: () => out, until, done };
}

const ORIGINAL = "export const a = 1;\n";

describe("two applies to the same file at once: one wins, the other refuses with FILE_CHANGED", () => {
  it("the second apply's check waits for the first one's write (library, two processes)", async () => {
    const root = gitRepo({ "src/a.ts": ORIGINAL });
    const go = path.join(tempDir("builder-go-"), "go");
    const first = child(root, "first", "export const a = 'first';\n", go);
    await first.until("paused");
    const second = child(root, "second", "export const a = 'second';\n");
    // The second either waits for the lock or (without one) runs to the end while the first is paused.
    await second.until("waiting");
    writeFileSync(go, "");
    const outcomes = [await first.done, await second.done];
    expect(outcomes).toEqual(["ok", "FILE_CHANGED"]);
    expect(readFileSync(path.join(root, "src", "a.ts"), "utf8")).toBe("export const a = 'first';\n");
  });

  it("two builder apply processes started together never both report success", async () => {
    for (let round = 0; round < 3; round++) {
      const root = gitRepo({ "src/a.ts": ORIGINAL });
      const dir = tempDir("builder-suggestions-");
      const files = ["one", "two"].map((name) => {
        const file = path.join(dir, `${name}.json`);
        writeFileSync(
          file,
          JSON.stringify({
            file_path: "src/a.ts",
            suggested_code: `export const a = '${name}';\n`,
            base_hashes: { "src/a.ts": sha256(ORIGINAL) },
          }),
        );
        return file;
      });
      const results = await Promise.all(files.map((file) => runCli(["apply", file], { cwd: root })));
      const codes = results.map((r) => r.code).sort();
      expect(codes, results.map((r) => r.stderr).join("\n")).toEqual([0, 7]);
      const loser = results.find((r) => r.code === 7);
      expect(jsonLines(loser?.stderr ?? "").find((l) => typeof l.error === "object")?.error).toMatchObject({
        code: "FILE_CHANGED",
      });
      const winner = results.findIndex((r) => r.code === 0);
      expect(readFileSync(path.join(root, "src", "a.ts"), "utf8")).toBe(
        `export const a = '${winner === 0 ? "one" : "two"}';\n`,
      );
    }
  });
});
