import { existsSync, readFileSync } from "node:fs";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { SAMPLE_TASK, tempDir } from "../test-support/fixtures.js";
import type { CodeSuggestion } from "../task/schema.js";
import { recordTrainingExample, type TrainingRunInput } from "./record-training.js";
import { trainingFile } from "./training-example.js";
import { readTrainingExamples } from "./training-store.js";

function run(workspace: string, verdict: CodeSuggestion["verification"]["verdict"], runId = "run-1"): TrainingRunInput {
  return {
    workspace,
    runId,
    task: {
      ...SAMPLE_TASK,
      files: [...SAMPLE_TASK.files],
      acceptance: [...SAMPLE_TASK.acceptance],
      constraints: { ...SAMPLE_TASK.constraints },
      objective: "Connect with password=hunter2 to the CRM",
    },
    messages: [
      { role: "system", content: "Project knowledge: the API key is sk-abcdefghijklmnop1234" },
      { role: "user", content: "## Task crm-001\nObjective: Connect" },
    ],
    suggestion: {
      file_path: "src/contact-service.ts",
      suggested_code: 'const client = connect({ token: "abc123secret" });\nexport const owner = "alice@example.com";\n',
      explanation: "connects",
      tests: "it('connects', () => {});",
      verification: {
        verdict,
        summary: `${verdict} by tests`,
        produced_by: { backend: "embedded", model: "/m/coder.gguf" },
        checks: [{ name: "tests", status: "passed", duration_ms: 12 }],
        notes: [],
      },
    },
    promptTokens: 42,
    generatedTokens: 17,
  };
}

describe("recording training examples", () => {
  it("appends a VERIFIED run to verified.jsonl with prompt, answer, task, verification summary and model", async () => {
    const workspace = tempDir();
    const outcome = await recordTrainingExample(run(workspace, "VERIFIED"));
    expect(outcome).toEqual({ recorded: true, file: trainingFile(workspace, "VERIFIED") });
    const { examples, invalid } = await readTrainingExamples(workspace, "VERIFIED");
    expect(invalid).toBe(0);
    expect(examples).toHaveLength(1);
    expect(examples[0]).toMatchObject({
      schema: 1,
      run_id: "run-1",
      verdict: "VERIFIED",
      task: { task_id: "crm-001" },
      answer: { file_path: "src/contact-service.ts" },
      verification: { summary: "VERIFIED by tests", checks: [{ name: "tests", status: "passed" }] },
      backend: "embedded",
      model: "/m/coder.gguf",
      prompt_tokens: 42,
      generated_tokens: 17,
    });
    expect(examples[0].messages).toHaveLength(2);
    expect(existsSync(trainingFile(workspace, "FAILED"))).toBe(false);
  });

  it("masks secrets before writing", async () => {
    const workspace = tempDir();
    await recordTrainingExample(run(workspace, "VERIFIED"));
    const text = readFileSync(trainingFile(workspace, "VERIFIED"), "utf8");
    for (const secret of ["hunter2", "sk-abcdefghijklmnop1234", "abc123secret"]) expect(text).not.toContain(secret);
    expect(text).toContain("password=***");
  });

  it("masks emails and prose passwords in the prompt, the task and the answer, as the logs do", async () => {
    const workspace = tempDir();
    const input = run(workspace, "VERIFIED");
    input.task.objective =
      "Log in as bob@corp.example; the password is Hunter2-S3cret! and the old password was s3cr3tpass";
    input.messages[0].content =
      "Knowledge: admin account ops@corp.example, password: Tr0ub4dor&3, api key is abc-123-def";
    input.suggestion.explanation = "Uses the token: xyz-789-tok for carol@corp.example";
    await recordTrainingExample(input);
    const text = readFileSync(trainingFile(workspace, "VERIFIED"), "utf8");
    for (const secret of [
      "bob@corp.example",
      "Hunter2-S3cret!",
      "s3cr3tpass",
      "ops@corp.example",
      "Tr0ub4dor&3",
      "abc-123-def",
      "xyz-789-tok",
      "carol@corp.example",
      "alice@example.com",
    ]) {
      expect(text, secret).not.toContain(secret);
    }
    expect(text).toContain("the password is *** and");
  });

  it("keeps the recorded code compiling: only secret values (and emails inside strings) are masked, not types, calls or predicates", async () => {
    const workspace = tempDir();
    const input = run(workspace, "VERIFIED");
    const code = [
      "interface Login { password: string; apiKey: string }",
      "function login(password: string): boolean {",
      "  const token = createToken(password);",
      "  return token.length > 0;",
      "}",
      'function isPassword(password: unknown): password is string { return typeof password === "string"; }',
      "const schema = z.object({ password: z.string().min(8), token: input.token!, secret: Buffer.from(raw) });",
      "const form = { password: input.password, token: next };",
      'export const owner = "alice@example.com";',
      'const AWS_SECRET_ACCESS_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";',
    ].join("\n");
    await recordTrainingExample({ ...input, suggestion: { ...input.suggestion, suggested_code: code } });
    const { examples } = await readTrainingExamples(workspace, "VERIFIED");
    const masked = examples[0].answer.suggested_code;
    expect(masked).toBe(
      code.replace("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "***").replace("alice@example.com", "***@***"),
    );
    const output = ts.transpileModule(masked, {
      reportDiagnostics: true,
      compilerOptions: { target: ts.ScriptTarget.ES2022 },
    });
    expect(output.diagnostics ?? []).toEqual([]);
  });

  it("keeps FAILED runs apart in failed.jsonl, where export and retrieval never look", async () => {
    const workspace = tempDir();
    await recordTrainingExample(run(workspace, "FAILED"));
    expect((await readTrainingExamples(workspace, "VERIFIED")).examples).toHaveLength(0);
    expect((await readTrainingExamples(workspace, "FAILED")).examples).toHaveLength(1);
  });

  it("records nothing for UNVERIFIED runs", async () => {
    const workspace = tempDir();
    const outcome = await recordTrainingExample(run(workspace, "UNVERIFIED"));
    expect(outcome.recorded).toBe(false);
    expect(existsSync(trainingFile(workspace, "VERIFIED"))).toBe(false);
    expect(existsSync(trainingFile(workspace, "FAILED"))).toBe(false);
  });

  it("concurrent runs append whole lines, never interleaved", async () => {
    const workspace = tempDir();
    const big = run(workspace, "VERIFIED");
    big.suggestion.suggested_code = "x".repeat(200_000);
    await Promise.all(Array.from({ length: 20 }, (_, i) => recordTrainingExample({ ...big, runId: `run-${i}` })));
    const { examples, invalid } = await readTrainingExamples(workspace, "VERIFIED");
    expect(invalid).toBe(0);
    expect(new Set(examples.map((e) => e.run_id)).size).toBe(20);
  });
});
