import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../../task/schema.js";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { isolatedEnv } from "../../test-support/e2e.js";
import { synthesizeTestModel, tempDir, writeFiles } from "../../test-support/fixtures.js";
import {
  ollamaDone,
  ollamaPiece,
  ollamaShow,
  scriptedServer,
  type ScriptedServer,
} from "../../test-support/scripted-server.js";

const A = "export function add(a: number, b: number): number {\n  return a - b;\n}\n";
const B = 'import { add } from "./a.js";\n\nexport const three = add(1, 2);\n';

let home: string;
const env = (): NodeJS.ProcessEnv => isolatedEnv(home);

beforeAll(() => {
  home = tempDir("builder-home-");
});

function metricsLines(ws: string): Array<Record<string, unknown>> {
  const file = path.join(ws, ".builder", "metrics.jsonl");
  return existsSync(file) ? jsonLines(readFileSync(file, "utf8")) : [];
}

function ollamaWorkspace(url: string): string {
  const root = tempDir("builder-edits-");
  writeFiles(root, {
    "builder.config.json": JSON.stringify({
      backend: "ollama",
      model: "m",
      ollama: { host: url },
      options: { num_ctx: 4096, num_predict: 1024 },
    }),
    "src/a.ts": A,
    "src/b.ts": B,
    "task.json": JSON.stringify({
      task_id: "e1",
      objective: "fix add and use it twice",
      files: ["src/a.ts", "src/b.ts"],
      acceptance: [],
      constraints: { loc_max: 50, pack: "" },
    }),
  });
  return root;
}

/** A scripted Ollama whose chat answers are `answers` in turn (the last one repeats), as JSON changes. */
async function ollamaAnswering(answers: readonly unknown[]): Promise<ScriptedServer> {
  let turn = 0;
  return scriptedServer((req, res) => {
    if (req.path === "/api/show") return ollamaShow(res, 4096);
    // As Ollama answers when it holds no model yet (only chats take a turn of the script).
    if (req.path === "/api/ps") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ models: [] }));
      return;
    }
    const answer = answers[Math.min(turn++, answers.length - 1)];
    res.writeHead(200, { "content-type": "application/x-ndjson" });
    res.end(ollamaPiece(JSON.stringify(answer)) + ollamaDone());
  });
}

const edit = (p: string, search: string, replace: string): unknown => ({
  path: p,
  action: "edit",
  edits: [{ search, replace }],
  content: "",
});
const GOOD = {
  changes: [
    edit("src/a.ts", "  return a - b;\n", "  return a + b;\n"),
    edit(
      "src/b.ts",
      "export const three = add(1, 2);\n",
      "export const three = add(1, 2);\nexport const five = add(2, 3);\n",
    ),
    { path: "src/a.test.ts", action: "create", edits: [], content: 'import { add } from "./a.js";\n' },
  ],
  explanation: "add subtracted",
};
const BAD = { changes: [edit("src/a.ts", "  return a * b;\n", "  return a + b;\n")], explanation: "wrong quote" };

describe("edit answers on a schema-only backend (Ollama)", () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => server?.close());

  it("sends a SEARCH that matches nothing back with the nearest lines, then applies the two-file change and undoes it byte for byte", async () => {
    server = await ollamaAnswering([BAD, GOOD]);
    const ws = ollamaWorkspace(server.url);
    const run = await runCli(["run", "task.json", "--apply"], { cwd: ws, env: env() });
    expect(run.code, run.stderr).toBe(0);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(run.stdout));
    expect(suggestion.file_path).toBe("src/a.ts");
    expect(suggestion.suggested_code).toBe(A.replace("a - b", "a + b"));
    expect(suggestion.tests).toBe('import { add } from "./a.js";\n');
    expect(suggestion.changes?.map((c) => [c.path, c.action])).toEqual([
      ["src/a.ts", "edit"],
      ["src/b.ts", "edit"],
      ["src/a.test.ts", "create"],
    ]);
    expect(suggestion.verification.notes.join("\n")).toMatch(/answer format: json/);
    const chats = server.requests.filter((r) => r.path === "/api/chat");
    expect(chats.length).toBe(2);
    const repair =
      (chats[1]?.body as { messages: Array<{ role: string; content: string }> }).messages.at(-1)?.content ?? "";
    expect(repair).toMatch(/SEARCH does not match/);
    expect(repair).toMatch(/2\|   return a - b;/);
    expect(readFileSync(path.join(ws, "src/a.ts"), "utf8")).toBe(A.replace("a - b", "a + b"));
    expect(readFileSync(path.join(ws, "src/b.ts"), "utf8")).toBe(B + "export const five = add(2, 3);\n");
    expect(readFileSync(path.join(ws, "src/a.test.ts"), "utf8")).toBe('import { add } from "./a.js";\n');
    // Usage is summed over both rounds: the scripted server reports 300 prompt and 20 generated tokens per request.
    expect(metricsLines(ws).at(-1)).toMatchObject({ success: true, prompt_tokens: 600, generated_tokens: 40 });

    const undo = await runCli(["undo"], { cwd: ws, env: env() });
    expect(undo.code, undo.stderr).toBe(0);
    expect(readFileSync(path.join(ws, "src/a.ts"), "utf8")).toBe(A);
    expect(readFileSync(path.join(ws, "src/b.ts"), "utf8")).toBe(B);
    expect(existsSync(path.join(ws, "src/a.test.ts"))).toBe(false);
  }, 120_000);

  it("fails clearly (exit 8, nothing written) when the edits still do not apply after the repairs", async () => {
    server = await ollamaAnswering([BAD]);
    const ws = ollamaWorkspace(server.url);
    const run = await runCli(["run", "task.json", "--apply", "--max-repairs", "1"], { cwd: ws, env: env() });
    expect(run.code).toBe(8);
    const suggestion = CodeSuggestionSchema.parse(JSON.parse(run.stdout));
    expect(suggestion.verification.verdict).toBe("FAILED");
    expect(suggestion.verification.checks).toEqual([expect.objectContaining({ name: "edits", status: "failed" })]);
    expect(readFileSync(path.join(ws, "src/a.ts"), "utf8")).toBe(A);
  }, 120_000);

  it("refuses a change to a file the task did not name", async () => {
    server = await ollamaAnswering([
      { changes: [{ path: "../outside.ts", action: "create", edits: [], content: "x" }], explanation: "" },
    ]);
    const ws = ollamaWorkspace(server.url);
    const run = await runCli(["run", "task.json", "--apply", "--max-repairs", "0"], { cwd: ws, env: env() });
    expect(run.code).toBe(8);
    expect(run.stdout).toMatch(/not one of the task's files/);
    expect(existsSync(path.join(ws, "..", "outside.ts"))).toBe(false);
  }, 120_000);
});

describe("a JSON answer against a file shown in regions (Ollama: no grammar holds SEARCH to the lines shown)", () => {
  let server: ScriptedServer | undefined;
  afterEach(async () => server?.close());

  /** 600 three-line functions `f0` … `f599`: far too large for a 4,096-token window. */
  const BIG = Array.from({ length: 600 }, (_, i) => `export function f${i}(): number {\n  return ${i};\n}\n`).join("");

  it("sends an edit that quotes lines the model was not shown back as EDIT_QUOTES_UNSHOWN_LINES, then applies the one that quotes the region shown", async () => {
    const outside = { changes: [edit("src/big.ts", "  return 5;\n", "  return 6;\n")], explanation: "f5" };
    const inside = { changes: [edit("src/big.ts", "  return 300;\n", "  return 301;\n")], explanation: "f300" };
    server = await ollamaAnswering([outside, inside]);
    const ws = tempDir("builder-regions-");
    writeFiles(ws, {
      "builder.config.json": JSON.stringify({
        backend: "ollama",
        model: "m",
        ollama: { host: server.url },
        options: { num_ctx: 4096, num_predict: 1024 },
        verify: { enabled: false },
      }),
      "src/big.ts": BIG,
    });
    const run = await runCli(
      ["run", "-m", "Make f300 return 301", "-f", "src/big.ts", "--apply", "--max-repairs", "1"],
      {
        cwd: ws,
        env: env(),
      },
    );
    expect(run.code, run.stderr).toBe(0);
    const chats = server.requests.filter((r) => r.path === "/api/chat");
    expect(chats.length).toBe(2);
    const prompt = (chats[0]?.body as { messages: Array<{ content: string }> }).messages.at(-1)?.content ?? "";
    expect(prompt).toContain("the task names f300");
    expect(prompt).not.toContain("export function f5(): number {");
    const repair =
      (chats[1]?.body as { messages: Array<{ role: string; content: string }> }).messages.at(-1)?.content ?? "";
    expect(repair).toMatch(
      /"?src\/big\.ts"?: edit 1: EDIT_QUOTES_UNSHOWN_LINES: its SEARCH quotes line\(s\) 17 of the file, which were not shown to you \(the file is too large for the window; you were shown its outline and lines \d+-\d+\)/,
    );
    expect(readFileSync(path.join(ws, "src/big.ts"), "utf8")).toBe(BIG.replace("  return 300;\n", "  return 301;\n"));
  }, 120_000);
});

describe("edit answers on the embedded engine (grammar)", () => {
  let modelPath: string;
  beforeAll(async () => {
    modelPath = await synthesizeTestModel({ contextLength: 32768 });
  });
  afterAll(() => undefined);

  it("edits a 3,000-line file in one place only, and applies it", async () => {
    const lines: string[] = [];
    // Short lines, half of them identical (blank), so that the prompt fits a test-sized window.
    for (let i = 0; lines.length < 3000; i++) lines.push(`v${i}`, "");
    const original = lines.join("\n") + "\n";
    const ws = tempDir("builder-big-");
    writeFiles(ws, {
      "builder.config.json": JSON.stringify({
        model: modelPath,
        bounded_answer: true,
        options: { num_ctx: 24576, num_predict: 512, num_thread: 1 },
      }),
      "src/big.md": original,
    });
    writeFileSync(
      path.join(ws, "task.json"),
      JSON.stringify({
        task_id: "big",
        objective: "change one value",
        files: ["src/big.md"],
        acceptance: [],
        constraints: { loc_max: 20, pack: "" },
      }),
    );
    const run = await runCli(["run", "task.json", "--apply"], { cwd: ws, env: env() });
    expect(run.code, run.stderr).toBe(0);
    const after = readFileSync(path.join(ws, "src/big.md"), "utf8").split("\n");
    const before = original.split("\n");
    // Everything before the first difference and after the last one (counted from the end) is untouched.
    let head = 0;
    while (head < before.length && before[head] === after[head]) head++;
    let tail = 0;
    while (tail < before.length - head && before[before.length - 1 - tail] === after[after.length - 1 - tail]) tail++;
    expect(before.length - head - tail, "one line replaced").toBeLessThanOrEqual(1);
    expect(head + tail).toBeGreaterThanOrEqual(before.length - 1);
  }, 300_000);
});
