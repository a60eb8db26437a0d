import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { BackendCapabilities } from "../backends/descriptors.js";
import type { Backend, BackendInfo, ChatMessage, GenerateRequest, GenerateResult } from "../backends/types.js";
import { loadConfig, type BuilderConfig } from "../config/load.js";
import type { VerifyOverrides } from "../config/verify-settings.js";
import type { BuilderTask, ModelAnswer } from "../task/schema.js";
import { EngineFaultError } from "../errors/errors.js";
import { createLogger } from "../telemetry/logger.js";
import { tempDir } from "../test-support/fixtures.js";
import { hashTree, typescriptProject } from "../test-support/ts-project-fixture.js";
import { renderTextAnswer } from "../answer/text-format.js";
import type { RunEvent } from "./events.js";
import { buildRepairMessages, type Attempt } from "./repair.js";
import { runTask, type RunTaskResult } from "./run-task.js";

/**
 * What the script declares it can do: its answers are rendered in the text format, which a run asks
 * for from a backend that applies a grammar itself; it estimates tokens and reports no memory or GPU.
 */
const SCRIPTED_CAPABILITIES: BackendCapabilities = {
  grammar: "engine",
  jsonSchema: false,
  exactTokenCounts: false,
  memoryReport: false,
  gpuReport: false,
  gpuSelection: false,
  prefixCache: false,
  speculation: false,
  ownEngine: true,
  setsContextWindow: true,
  modelShape: false,
  pulledModels: false,
  kvCacheTypeFromEnv: false,
};

/** A backend that answers from a script, and remembers what it was asked: for control-flow tests only. */
class ScriptedBackend implements Backend {
  readonly requests: ChatMessage[][] = [];
  constructor(
    private readonly answers: ModelAnswer[],
    private readonly contextSize = 16384,
  ) {}
  async prepare(): Promise<BackendInfo> {
    return {
      // The default configuration's backend, the name its own backend would report.
      backend: "embedded",
      capabilities: SCRIPTED_CAPABILITIES,
      model: "/models/scripted.gguf",
      contextSize: this.contextSize,
      device: "script",
      loadMs: 0,
    };
  }
  async countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }> {
    return { tokens: Math.ceil(messages.reduce((n, m) => n + m.content.length, 0) / 3), exact: false };
  }
  async generate(request: GenerateRequest): Promise<GenerateResult> {
    this.requests.push(request.messages);
    const answer = this.answers[Math.min(this.requests.length - 1, this.answers.length - 1)] as ModelAnswer;
    // Round n reports 50·n generated tokens, so sums over rounds differ from any single round.
    return {
      text: textOf(answer),
      stopReason: "stop",
      metrics: { promptTokens: 10, generatedTokens: 50 * this.requests.length, generationMs: 5 },
    };
  }
  async dispose(): Promise<void> {}
}

/** Answers the first request, then fails every repair round as llama.cpp would after its one retry. */
class FaultOnRepairBackend extends ScriptedBackend {
  override async generate(request: GenerateRequest): Promise<GenerateResult> {
    if (this.requests.length === 0) return super.generate(request);
    this.requests.push(request.messages);
    throw new EngineFaultError("llama.cpp failed twice on a clean sequence: Eval has failed");
  }
}

/** A whole-file answer in the text format: the code (and its tests) as whole contents. */
function textOf(answer: ModelAnswer): string {
  const changes = [{ path: answer.file_path, action: "create" as const, content: answer.suggested_code }];
  if (answer.tests !== "")
    changes.push({ path: answer.file_path.replace(/\.ts$/, ".test.ts"), action: "create", content: answer.tests });
  return renderTextAnswer({ changes, explanation: answer.explanation });
}

const TASK: BuilderTask = {
  task_id: "repair-1",
  objective: "Add multiply",
  files: ["src/multiply.ts"],
  acceptance: ["multiplies two numbers"],
  constraints: { loc_max: 50, pack: "" },
};

const RIGHT: ModelAnswer = {
  file_path: "src/multiply.ts",
  suggested_code: "export function multiply(a: number, b: number): number {\n  return a * b;\n}\n",
  explanation: "multiply",
  tests: "",
};
const TYPE_ERROR: ModelAnswer = {
  ...RIGHT,
  suggested_code: 'export function multiply(a: number, b: number): number {\n  return "x";\n}\n',
};
const NO_RETURN_TYPE: ModelAnswer = {
  ...RIGHT,
  suggested_code: "export function multiply(a: number, b: number) {\n  return a * b;\n}\n",
};
const WITH_ANY: ModelAnswer = {
  ...RIGHT,
  suggested_code: "export function multiply(a: any, b: number): number {\n  return a * b;\n}\n",
};

const logger = createLogger({ level: "silent" });

/** runTask with a scripted backend and a silent logger. */
function run(task: BuilderTask, config: BuilderConfig, backend: ScriptedBackend): Promise<RunTaskResult> {
  return runTask(task, { config, backend, logger });
}

function config(workspace: string, verify: VerifyOverrides = {}): BuilderConfig {
  return loadConfig({
    cwd: workspace,
    env: { HOME: tempDir() },
    overrides: { workspace, verify, options: { num_predict: 4096 } },
  });
}

describe("the repair loop (scripted backend, real checks)", () => {
  it("a cancel during a repair round ends the run CANCELLED, writing nothing, after reporting round 0's checks as events", async () => {
    const workspace = typescriptProject();
    const before = hashTree(workspace);
    const controller = new AbortController();
    // The caller cancels while the repair round generates: the engine stops with an "abort" answer.
    class CancelledInRepair extends ScriptedBackend {
      override async generate(request: GenerateRequest): Promise<GenerateResult> {
        const result = await super.generate(request);
        if (this.requests.length < 2) return result;
        controller.abort();
        return { ...result, text: "", stopReason: "abort" };
      }
    }
    const events: RunEvent[] = [];
    const running = runTask(TASK, {
      config: config(workspace),
      backend: new CancelledInRepair([TYPE_ERROR, RIGHT]),
      logger,
      signal: controller.signal,
      onEvent: (e) => events.push(e),
    });
    await expect(running).rejects.toMatchObject({ code: "CANCELLED" });
    expect(events.find((e) => e.type === "check" && e.name === "typecheck")).toMatchObject({
      round: 0,
      status: "failed",
    });
    expect(events.find((e) => e.type === "repair")).toEqual({ type: "repair", round: 1, failed_checks: ["typecheck"] });
    expect(events.some((e) => e.type === "generated" && e.round === 1)).toBe(false);
    expect(existsSync(path.join(workspace, ".builder", "metrics.jsonl"))).toBe(false);
    expect(hashTree(workspace)).toEqual(before);
  });

  it("sends the diagnostics and the previous answer back, and ends VERIFIED after one repair", async () => {
    const workspace = typescriptProject({ git: true });
    const before = hashTree(workspace);
    const backend = new ScriptedBackend([TYPE_ERROR, RIGHT]);
    const result = await run(TASK, config(workspace), backend);
    expect(result.suggestion.verification).toMatchObject({ verdict: "VERIFIED", repair_rounds: 1 });
    expect(result.suggestion.suggested_code).toBe(RIGHT.suggested_code);
    expect(result.suggestion.verification.summary).toMatch(/^VERIFIED after 1 repair round\(s\)/);
    expect(backend.requests).toHaveLength(2);
    const repair = backend.requests[1] as ChatMessage[];
    expect(repair.at(-2)).toEqual({ role: "assistant", content: textOf(TYPE_ERROR) });
    expect(repair.at(-1)?.content).toMatch(
      /typecheck: 1 error\(s\)[\s\S]*src\/multiply\.ts:2:3 TS2322 Type 'string' is not assignable to type 'number'/,
    );
    expect(result.metrics).toMatchObject({ verdict: "VERIFIED", repair_rounds: 1 });
    expect(result.metrics.rounds?.map((r) => r.verdict)).toEqual(["FAILED", "VERIFIED"]);
    expect(Object.keys(result.metrics.check_ms ?? {})).toEqual(["typecheck", "rules", "tests", "lint"]);
    expect(hashTree(workspace)).toEqual(before);
  });

  it("sums generated and prompt tokens over the first answer and its repair rounds", async () => {
    const workspace = typescriptProject();
    const result = await run(TASK, config(workspace), new ScriptedBackend([TYPE_ERROR, RIGHT]));
    expect(result.metrics.rounds?.map((r) => r.generated_tokens)).toEqual([50, 100]);
    expect(result.metrics).toMatchObject({ generated_tokens: 150, prompt_tokens: 20 });
  });

  it("stops early when a repair round fixes nothing, and reports FAILED with the diagnostics", async () => {
    const workspace = typescriptProject();
    const backend = new ScriptedBackend([TYPE_ERROR, TYPE_ERROR, RIGHT]);
    const result = await run(TASK, config(workspace), backend);
    expect(backend.requests).toHaveLength(2);
    const { verification } = result.suggestion;
    expect(verification).toMatchObject({ verdict: "FAILED", repair_rounds: 1 });
    expect(verification.notes).toContain("stopped early: repair round 1 fixed nothing that round 0 had wrong");
    expect(verification.checks.find((c) => c.name === "typecheck")).toMatchObject({ status: "failed", count: 1 });
  });

  it("keeps the first answer when a repair round ends in an engine fault (ENGINE_FAULT), instead of failing the run", async () => {
    const workspace = typescriptProject();
    const backend = new FaultOnRepairBackend([TYPE_ERROR, RIGHT]);
    const result = await run(TASK, config(workspace), backend);
    const { verification } = result.suggestion;
    expect(verification).toMatchObject({ verdict: "FAILED" });
    expect(result.suggestion.suggested_code).toBe(TYPE_ERROR.suggested_code);
    expect(verification.notes.join("\n")).toMatch(/repair round 1 produced no usable answer \(ENGINE_FAULT: /);
  });

  it("keeps going while rounds make progress, up to --max-repairs, and reports the best answer", async () => {
    const workspace = typescriptProject();
    const backend = new ScriptedBackend([TYPE_ERROR, WITH_ANY, NO_RETURN_TYPE, RIGHT]);
    const result = await run(TASK, config(workspace, { maxRepairs: 2 }), backend);
    expect(backend.requests).toHaveLength(3);
    const { verification } = result.suggestion;
    expect(verification).toMatchObject({ verdict: "FAILED", repair_rounds: 2 });
    expect(verification.notes).toContain("still failing after the allowed 2 repair round(s)");
    expect(result.suggestion.suggested_code).toBe(NO_RETURN_TYPE.suggested_code);
    expect(verification.checks.find((c) => c.name === "rules")?.diagnostics).toEqual([
      "src/multiply.ts:1:17 explicit-return-types function `multiply` has no return type: declare it (inferred: number).",
    ]);
  });

  it("trims the diagnostics in the repair prompt to fit the context window", async () => {
    const workspace = typescriptProject();
    const body = Array.from({ length: 12 }, (_, i) => `  const v${i}: number = "s${i}";`).join("\n");
    const manyErrors = {
      ...RIGHT,
      suggested_code: `export function multiply(a: number, b: number): number {\n${body}\n  return a * b;\n}\n`,
    };
    const roomy = new ScriptedBackend([manyErrors, RIGHT]);
    await run(TASK, config(workspace), roomy);
    const full = roomy.requests[1] as ChatMessage[];
    expect(full.at(-1)?.content).not.toContain("more");
    const fullTokens = (await roomy.countPromptTokens(full)).tokens;
    // One token short of holding the full repair prompt plus the answer budget (num_predict 4096).
    const tight = new ScriptedBackend([manyErrors, RIGHT], fullTokens + 4096 - 1);
    const result = await run(TASK, config(workspace), tight);
    const trimmed = tight.requests[1] as ChatMessage[];
    expect(trimmed.at(-1)?.content).toMatch(/… and 2 more/);
    expect(trimmed.at(-2)).toEqual(full.at(-2));
    expect(result.suggestion.verification.verdict).toBe("VERIFIED");
  });

  it("sends a path the model writes back as its mistake (a garbage name, a deny-listed file), then ends FAILED naming it cut short, never a scratch path", async () => {
    const workspace = typescriptProject();
    const garbage = `src/${"UFH/wT/pkJ[@p#pj_ApizCvWD?OJT3[P5&_A=9*xYleT9_AE".repeat(8)}.ts`;
    const backend = new ScriptedBackend([
      { ...RIGHT, file_path: garbage },
      { ...RIGHT, file_path: "src/.env.ts" },
    ]);
    const result = await run(TASK, config(workspace, { maxRepairs: 1 }), backend);
    expect(backend.requests).toHaveLength(2);
    expect(backend.requests[1]?.at(-1)?.content).toMatch(/new files take paths of at most 240 bytes/);
    expect(result.suggestion.verification.verdict).toBe("FAILED");
    const diagnostics = result.suggestion.verification.checks.flatMap((c) => c.diagnostics ?? []).join("\n");
    expect(diagnostics).toMatch(/"src\/\.env\.ts".*matches the deny list/);
    expect(JSON.stringify(result.suggestion)).not.toContain(garbage);
    expect(JSON.stringify(result.suggestion)).not.toMatch(/builder-verify-/);
  });

  it("does not repair with --max-repairs 0, and treats a path outside the workspace as a failed edits check", async () => {
    const workspace = typescriptProject();
    const backend = new ScriptedBackend([{ ...RIGHT, file_path: "../outside.ts" }]);
    const result = await run({ ...TASK, files: [] }, config(workspace, { maxRepairs: 0 }), backend);
    expect(backend.requests).toHaveLength(1);
    expect(result.suggestion.verification.checks).toEqual([
      expect.objectContaining({
        name: "edits",
        status: "failed",
        diagnostics: [expect.stringMatching(/the task names no file, so the answer may change none/)],
      }),
    ]);
    expect(result.suggestion.verification.notes).toContain("repairs are off (--max-repairs 0)");
  });

  it("reports UNVERIFIED with the reason for --no-verify and for a workspace without tsconfig.json", async () => {
    const workspace = typescriptProject();
    const off = await run(TASK, config(workspace, { enabled: false }), new ScriptedBackend([TYPE_ERROR]));
    expect(off.suggestion.verification).toMatchObject({ verdict: "UNVERIFIED", checks: [] });
    expect(off.suggestion.verification.summary).toMatch(/Not verified: verification was switched off \(--no-verify\)/);
    const plain = tempDir();
    const none = await run(TASK, config(plain), new ScriptedBackend([TYPE_ERROR]));
    expect(none.suggestion.verification.summary).toMatch(
      /Not verified: no tsconfig\.json in .* \(not a TypeScript workspace;/,
    );
    expect(none.metrics.verdict).toBe("UNVERIFIED");
  });
});

describe("buildRepairMessages", () => {
  it("keeps at most the given number of diagnostics per check and says how many were left out", () => {
    const attempt = {
      round: 0,
      answer: RIGHT,
      cutFields: [],
      problems: [],
      generation: { text: "", stopReason: "stop", metrics: { promptTokens: 0, generatedTokens: 0, generationMs: 0 } },
      report: {
        verdict: "FAILED",
        durationMs: 0,
        notes: [],
        checks: [
          {
            name: "typecheck",
            status: "failed",
            durationMs: 0,
            diagnostics: ["e1", "e2", "e3"],
            summary: "3 error(s)",
            notes: [],
          },
          { name: "rules", status: "passed", durationMs: 0, diagnostics: [], summary: "ok", notes: [] },
        ],
      },
    } satisfies Attempt;
    const messages = buildRepairMessages([{ role: "user", content: "task" }], attempt, 2);
    expect(messages).toHaveLength(3);
    expect(messages[2]?.content).toContain("    e1\n    e2\n    … and 1 more");
    expect(messages[2]?.content).toContain("Passed: rules.");
  });
});
