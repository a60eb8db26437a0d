import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_PATH, jsonLines } from "../../test-support/cli.js";
import { SAMPLE_TASK, sampleWorkspace, synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";
import { closedPort, ollamaShow, scriptedServer, type ScriptedServer } from "../../test-support/scripted-server.js";
import { startServe, type ServeProcess } from "../../test-support/serve.js";
import { spawn } from "node:child_process";

let modelPath: string;
let workspace: string;
let home: string;
let serveB: ServeProcess;

/** Task files t1…tn in the workspace. */
function taskFiles(count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const file = `tasks/t${i + 1}.json`;
    writeFileSync(path.join(workspace, file), JSON.stringify({ ...SAMPLE_TASK, task_id: `t${i + 1}` }));
    return file;
  });
}

interface Run {
  code: number | null;
  lines: Array<Record<string, unknown>>;
  stderr: string;
}

/** `builder run` as a subprocess; `onLine` sees each result line as it is printed. */
function runBuilder(args: string[], onLine?: (line: Record<string, unknown>) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, "run", "--edits", "whole", ...args], {
      cwd: workspace,
      env: { ...process.env, HOME: home, XDG_CACHE_HOME: home, OLLAMA_HOST: "", BUILDER_LOG_LEVEL: "info" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      const before = stdout.split("\n").length - 1;
      stdout += chunk.toString();
      const lines = stdout.split("\n").slice(before, -1);
      for (const line of lines) onLine?.(JSON.parse(line) as Record<string, unknown>);
    });
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, lines: jsonLines(stdout), stderr }));
  });
}

beforeAll(async () => {
  modelPath = await synthesizeTestModel();
  workspace = sampleWorkspace(modelPath, { num_predict: 900, num_ctx: 4096 });
  home = tempDir("builder-home-");
  serveB = await startServe(modelPath, ["--name", "tiny:test", "--parallel", "2"]);
});

afterAll(async () => {
  await serveB?.stop();
});

describe("builder run over an endpoint pool", () => {
  it("fails over from an endpoint that refuses or dies before the first token; each task gets its own line", async () => {
    let dropped = 0;
    const dying: ScriptedServer = await scriptedServer((req, res) => {
      if (req.path === "/api/show") return ollamaShow(res);
      // Dies after reading the request, before any token.
      dropped++;
      res.socket?.destroy();
    });
    const refused = `http://127.0.0.1:${await closedPort()}`;
    try {
      const files = taskFiles(3);
      const run = await runBuilder([
        ...files,
        "tasks/missing.json",
        "--concurrency",
        "2",
        "--backend",
        "ollama",
        "--host",
        `${dying.url},${refused},${serveB.url}`,
        "--model",
        "tiny:test",
      ]);
      expect(run.lines).toHaveLength(4);
      const byFile = new Map(run.lines.map((line) => [line.task_file, line]));
      for (const file of files)
        expect(byFile.get(file), file).toMatchObject({
          ok: true,
          // The primary file is the first one the answer changes: the random model may change only the test.
          suggestion: { file_path: expect.stringMatching(/^src\/contact-service(\.test)?\.ts$/) },
          metrics: { backend: "ollama", success: true },
        });
      expect(byFile.get("tasks/missing.json")).toMatchObject({
        ok: false,
        task_id: null,
        error: { code: "TASK_INVALID" },
      });
      expect(run.code, "a failed task makes the exit code non-zero").toBe(2);
      expect(dropped, "the dying endpoint was tried").toBeGreaterThan(0);
      expect(run.stderr).toMatch(/is down; trying another/);
      expect(run.stderr).toMatch(/1 of 4 tasks failed: tasks\/missing.json \(TASK_INVALID\)/);
    } finally {
      await dying.close();
    }
  });

  it("keeps going when one of two real servers is killed mid-run", async () => {
    const serveA = await startServe(modelPath, ["--name", "tiny:test", "--parallel", "2"]);
    try {
      const files = taskFiles(6);
      let killed = false;
      const run = await runBuilder(
        [
          ...files,
          "--concurrency",
          "2",
          "--backend",
          "ollama",
          "--host",
          `${serveA.url},${serveB.url}`,
          "--model",
          "tiny:test",
        ],
        () => {
          if (killed) return;
          killed = true;
          void serveA.kill();
        },
      );
      expect(killed).toBe(true);
      expect(run.lines).toHaveLength(6);
      const failed = run.lines.filter((line) => line.ok !== true);
      // Only a task that was mid-answer on the killed server may fail; it says so. Everything else moves to the live server.
      for (const line of failed) {
        expect(line.error).toMatchObject({
          code: "BACKEND_ERROR",
          message: expect.stringMatching(/closed the connection after \d+ characters/),
        });
      }
      expect(run.lines.filter((line) => line.ok === true).length).toBeGreaterThanOrEqual(4);
      expect(run.stderr).toMatch(new RegExp(`endpoint ${serveA.url.replace(/[.]/g, "\\.")} is down`));
      expect(run.code).toBe(failed.length > 0 ? 6 : 0);
    } finally {
      await serveA.kill();
    }
  });
});
