import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CodeSuggestionSchema } from "../../task/schema.js";
import { CLI_PATH, jsonLines, runCli } from "../../test-support/cli.js";
import { SAMPLE_TASK, sampleWorkspace, synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";

// One synthesized model, one workspace, one `builder mcp` for the file. Answers are bounded and short
// (num_predict 600: room for the bounded answer over two files, a third of the time of 1024) so that
// each run takes seconds on one thread.
let workspace: string;
let home: string;
let client: Client;
let stderr = "";

const env = (): Record<string, string> => ({
  ...(process.env as Record<string, string>),
  HOME: home,
  XDG_CACHE_HOME: home,
  BUILDER_LOG_LEVEL: "info",
  BUILDER_KEEP_ALIVE: "0",
  OLLAMA_HOST: "",
  OLLAMA_MODEL: "",
  OPENAI_BASE_URL: "",
});

/** Every file under the workspace but .builder/, with its hash: "the tree". */
function tree(root: string, dir = root): Record<string, string> {
  const files: Record<string, string> = {};
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (path.relative(root, full) === ".builder") continue;
    if (statSync(full).isDirectory()) Object.assign(files, tree(root, full));
    else files[path.relative(root, full)] = createHash("sha256").update(readFileSync(full)).digest("hex");
  }
  return files;
}

function listed(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

const metricsCount = (): number => {
  const file = path.join(workspace, ".builder", "metrics.jsonl");
  return existsSync(file) ? jsonLines(readFileSync(file, "utf8")).length : 0;
};

function text(result: CallToolResult): string {
  return result.content.map((c) => (c.type === "text" ? c.text : "")).join("\n");
}

async function call(
  name: string,
  args: Record<string, unknown>,
  onprogress?: (p: Progress) => void,
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, {
    onprogress,
    resetTimeoutOnProgress: true,
    timeout: 100_000,
  })) as CallToolResult;
}

beforeAll(async () => {
  const modelPath = await synthesizeTestModel();
  workspace = sampleWorkspace(modelPath, { num_predict: 600 });
  home = tempDir("builder-home-");
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI_PATH, "mcp"],
    cwd: workspace,
    env: env(),
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  client = new Client({ name: "builder-e2e", version: "1.0.0" });
  await client.connect(transport);
});

afterAll(async () => {
  await client?.close();
});

describe("builder mcp with the official MCP client", () => {
  it("lists its tools with their input and output schemas", async () => {
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual(["run_task", "apply_suggestion", "undo", "eval", "status"]);
    const run = tools.find((t) => t.name === "run_task");
    expect(Object.keys(run?.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining([
        "task_id",
        "objective",
        "files",
        "acceptance",
        "constraints",
        "apply",
        "dry_run",
        "verify",
        "max_repairs",
      ]),
    );
    expect(run?.inputSchema.required).toEqual(["objective"]);
    expect(run?.outputSchema?.required).toEqual(expect.arrayContaining(["run_id", "verdict", "suggestion"]));
    for (const tool of tools) expect(tool.outputSchema?.type, tool.name).toBe("object");
  });

  it("run_task returns a suggestion, with progress notifications on the way", async () => {
    const progress: Progress[] = [];
    const result = await call("run_task", { ...SAMPLE_TASK }, (p) => progress.push(p));
    expect(result.isError, text(result)).toBeFalsy();
    const structured = result.structuredContent as Record<string, unknown>;
    const suggestion = CodeSuggestionSchema.parse(structured.suggestion);
    expect(suggestion.file_path).toBe("src/contact-service.ts");
    expect(structured.verdict).toBe("UNVERIFIED");
    expect(text(result)).toMatch(/^UNVERIFIED: /);
    expect(existsSync(path.join(workspace, structured.suggestion_file as string))).toBe(true);
    const messages = progress.map((p) => p.message ?? "");
    for (const expected of [
      /^started crm-001/,
      /^loading the model/,
      /^model ready/,
      /^prompt assembled: \d+ of \d+ tokens/,
      /tokens generated/,
    ])
      expect(
        messages.some((m) => expected.test(m)),
        String(expected),
      ).toBe(true);
    expect(progress.map((p) => p.progress)).toEqual(progress.map((_, i) => i + 1));
    // stdout carried only the protocol: had a log line reached it, the client would have failed to parse.
    expect(stderr).toContain("tool call");
  });

  it("a bad task is a tool error naming the field, and the server goes on", async () => {
    const result = await call("run_task", { ...SAMPLE_TASK, constraints: { loc_max: "many", pack: "crm" } });
    expect(result.isError).toBe(true);
    expect(text(result)).toMatch(/^TASK_INVALID: .*constraints\.loc_max/);
    const options = await call("run_task", { ...SAMPLE_TASK, max_repairs: -1 });
    expect(options.isError).toBe(true);
    expect(text(options)).toMatch(/max_repairs/);
    const evalCall = await call("eval", { limit: 0 });
    expect(evalCall.isError).toBe(true);
    expect(text(evalCall)).toMatch(/^USAGE: Invalid eval argument limit/);
  });

  it("a cancelled run_task writes nothing, and the next call runs", async () => {
    const before = tree(workspace);
    const suggestions = listed(path.join(workspace, ".builder", "suggestions")).length;
    const metrics = metricsCount();
    const controller = new AbortController();
    const cancelled = client.callTool({ name: "run_task", arguments: { ...SAMPLE_TASK, apply: true } }, undefined, {
      signal: controller.signal,
      timeout: 100_000,
      // Cancelled once the answer starts: the engine is generating.
      onprogress: (p) => {
        if (/first token/.test(p.message ?? "")) controller.abort("the test cancels");
      },
    });
    await expect(cancelled).rejects.toThrow();
    // Calls run one at a time: this one starts once the cancelled run has stopped and freed the engine.
    const next = await call("run_task", { ...SAMPLE_TASK });
    expect(next.isError, text(next)).toBeFalsy();
    expect(tree(workspace)).toEqual(before);
    expect(stderr).toContain("run_task cancelled: nothing was written");
    expect(listed(path.join(workspace, ".builder", "suggestions")).length).toBe(suggestions + 1);
    expect(metricsCount()).toBe(metrics + 1);
  });

  it("run_task with apply, then undo, leaves the tree byte-identical", async () => {
    const before = tree(workspace);
    const applied = await call("run_task", { ...SAMPLE_TASK, apply: true });
    expect(applied.isError, text(applied)).toBeFalsy();
    const structured = applied.structuredContent as { applied: { files: unknown[] } };
    expect(structured.applied.files.length).toBeGreaterThan(0);
    expect(tree(workspace)).not.toEqual(before);
    const undone = await call("undo", {});
    expect(undone.isError, text(undone)).toBeFalsy();
    expect(tree(workspace)).toEqual(before);
  });

  it("status tells the workspace, the Builder host's models, this server's runs and the recorded runs", async () => {
    const result = await call("status", {});
    expect(result.isError, text(result)).toBeFalsy();
    const structured = result.structuredContent as {
      workspace: string;
      models: unknown[];
      recent_runs: Array<Record<string, unknown>>;
      stats: { total: { runs: number } };
    };
    expect(path.basename(structured.workspace)).toBe(path.basename(workspace));
    expect(Array.isArray(structured.models)).toBe(true);
    // The run_task tests above ran tasks on this server: their runs are listed and recorded.
    expect(structured.recent_runs).toContainEqual(expect.objectContaining({ ok: true, task_id: "crm-001" }));
    expect(structured.stats.total.runs).toBeGreaterThan(0);
  });
});

describe("builder run --output-format", () => {
  it("stream-json: every line of stdout is an event, the last the result", async () => {
    const result = await runCli(["run", "tasks/create-contact.json", "--output-format", "stream-json"], {
      cwd: workspace,
      env: env(),
    });
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    const events = lines.map((line) => JSON.parse(line) as { type: string; ok?: boolean; suggestion?: unknown });
    expect(events.map((e) => e.type)).toEqual(
      expect.arrayContaining(["started", "model_loading", "model_loaded", "context", "generated", "result"]),
    );
    expect(events[0]?.type).toBe("started");
    const last = events.at(-1);
    expect(last).toMatchObject({ type: "result", ok: true, verdict: "UNVERIFIED" });
    expect(CodeSuggestionSchema.parse(last?.suggestion).file_path).toBe("src/contact-service.ts");

    // A bad task still ends stdout with a result line, naming the field, and exits 2.
    const bad = await runCli(["run", "--output-format", "stream-json"], {
      cwd: workspace,
      env: env(),
      stdin: JSON.stringify({ ...SAMPLE_TASK, files: "src/a.ts" }),
    });
    expect(bad.code).toBe(2);
    expect(
      bad.stdout
        .trimEnd()
        .split("\n")
        .map((line) => JSON.parse(line) as unknown),
    ).toEqual([
      expect.objectContaining({ type: "result", ok: false, error: expect.objectContaining({ code: "TASK_INVALID" }) }),
    ]);
    expect(bad.stdout).toMatch(/files/);
  });

  it("json with --dry-run keeps the suggestion object and adds the diff as a field", async () => {
    const before = tree(workspace);
    const result = await runCli(["run", "tasks/create-contact.json", "--dry-run", "--output-format", "json"], {
      cwd: workspace,
      env: env(),
    });
    expect(result.code, result.stderr).toBe(0);
    const printed = JSON.parse(result.stdout) as { diff: string; file_path: string };
    expect(printed.file_path).toBe("src/contact-service.ts");
    expect(printed.diff).toMatch(/^--- /m);
    expect(tree(workspace)).toEqual(before);
  });
});
