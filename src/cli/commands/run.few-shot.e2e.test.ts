import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { trainingDir } from "../../learning/training-example.js";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { SAMPLE_TASK, sampleWorkspace, synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";

let modelPath: string;
let cacheHome: string;

beforeAll(async () => {
  modelPath = await synthesizeTestModel();
  cacheHome = tempDir("builder-cache-");
});

const env = (): NodeJS.ProcessEnv => ({ XDG_CACHE_HOME: cacheHome, HOME: cacheHome, BUILDER_LOG_LEVEL: "debug" });

/** A verified example of a task like the sample one, recorded in the workspace. */
function recordVerifiedExample(workspace: string): void {
  const task = {
    ...SAMPLE_TASK,
    task_id: "crm-000",
    objective: "Add updateContact with PostgreSQL → Elasticsearch sync",
  };
  const example = {
    schema: 1,
    run_id: "earlier-run",
    recorded_at: "2025-02-01T00:00:00.000Z",
    verdict: "VERIFIED",
    task,
    messages: [{ role: "user", content: "earlier prompt" }],
    answer: {
      file_path: "src/contact-service.ts",
      suggested_code: "export function updateContact(): void {}\n",
      explanation: "e",
      tests: "t",
    },
    verification: { summary: "All checks passed.", checks: [{ name: "tests", status: "passed" }] },
    backend: "embedded",
    model: modelPath,
  };
  mkdirSync(trainingDir(workspace), { recursive: true });
  writeFileSync(path.join(trainingDir(workspace), "verified.jsonl"), JSON.stringify(example) + "\n");
}

function promptTokens(stderr: string): number {
  return jsonLines(stderr).find((l) => l.msg === "run metrics")?.prompt_tokens as number;
}

describe("few-shot retrieval in builder run (real engine)", () => {
  it("adds the similar verified task after the priming when few_shot is on, and records no UNVERIFIED run", async () => {
    const plain = sampleWorkspace(modelPath);
    recordVerifiedExample(plain);
    const withExamples = sampleWorkspace(modelPath);
    recordVerifiedExample(withExamples);
    writeFileSync(
      path.join(withExamples, "builder.config.json"),
      JSON.stringify({
        model: modelPath,
        bounded_answer: true,
        knowledge: ["knowledge/project-context.md"],
        packs: { crm: ["knowledge/packs/crm.md"] },
        options: { num_ctx: 4096, num_predict: 512, num_thread: 1 },
        few_shot: { examples: 2, max_tokens: 1000 },
      }),
    );
    writeFileSync(
      path.join(plain, "builder.config.json"),
      JSON.stringify({
        model: modelPath,
        bounded_answer: true,
        knowledge: ["knowledge/project-context.md"],
        packs: { crm: ["knowledge/packs/crm.md"] },
        options: { num_ctx: 4096, num_predict: 512, num_thread: 1 },
      }),
    );

    const off = await runCli(["run", "tasks/create-contact.json"], { cwd: plain, env: env() });
    const on = await runCli(["run", "tasks/create-contact.json"], { cwd: withExamples, env: env() });
    expect(off.code).toBe(0);
    expect(on.code).toBe(0);
    const chosen = jsonLines(on.stderr).find((l) => l.msg === "few-shot examples")?.few_shot as Array<{
      task_id: string;
    }>;
    expect(chosen.map((c) => c.task_id)).toEqual(["crm-000"]);
    expect(jsonLines(off.stderr).some((l) => l.msg === "few-shot examples")).toBe(false);
    expect(promptTokens(on.stderr)).toBeGreaterThan(promptTokens(off.stderr));
    // The runs were UNVERIFIED: nothing new is recorded as training data.
    expect(existsSync(path.join(trainingDir(withExamples), "failed.jsonl"))).toBe(false);
  });
});
