import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { assembleContext, type AssembledContext, type FewShotExample } from "../context/assemble.js";
import { estimatingCounter } from "../context/token-count.js";
import type { BuilderTask } from "../task/schema.js";
import { ExampleIndex, estimateTokens, fewShotMessages, selectFewShot, tokenize } from "./retrieval.js";
import type { TrainingExample } from "./training-example.js";

interface LabelledTask {
  id?: string;
  objective: string;
  files: string[];
  acceptance: string[];
  expected?: string;
}
const SET = JSON.parse(
  readFileSync(fileURLToPath(new URL("./__fixtures__/retrieval-set.json", import.meta.url)), "utf8"),
) as {
  examples: LabelledTask[];
  queries: LabelledTask[];
  unrelated: LabelledTask;
};

function asTask(t: LabelledTask, id = "q"): BuilderTask {
  return {
    task_id: t.id ?? id,
    objective: t.objective,
    files: t.files,
    acceptance: t.acceptance,
    constraints: { loc_max: 200, pack: "" },
  };
}

function asExample(t: LabelledTask, code = `// ${t.id ?? ""}\n`): TrainingExample {
  return {
    schema: 1,
    run_id: `run-${t.id ?? ""}`,
    recorded_at: "2025-02-01T00:00:00Z",
    verdict: "VERIFIED",
    task: asTask(t),
    messages: [{ role: "user", content: t.objective }],
    answer: { file_path: t.files[0], suggested_code: code, explanation: "", tests: "" },
    verification: { summary: "ok", checks: [] },
    backend: "embedded",
    model: "m.gguf",
  };
}

const EXAMPLES = SET.examples.map((t) => asExample(t));

describe("BM25 retrieval on a small labelled set", () => {
  it("ranks the labelled match first for every query", () => {
    const index = new ExampleIndex(EXAMPLES);
    const top = SET.queries.map((q) => index.search(asTask(q), 1)[0]?.example.task.task_id);
    expect(top).toEqual(SET.queries.map((q) => q.expected));
  });

  it("finds nothing for an unrelated task", () => {
    expect(new ExampleIndex(EXAMPLES).search(asTask(SET.unrelated))).toEqual([]);
  });

  it("tokenizes camelCase, snake_case and paths, dropping stopwords", () => {
    expect(tokenize("Add createContact to src/contact_service.ts")).toEqual([
      "create",
      "contact",
      "createcontact",
      "src",
      "contact",
      "service",
      "contact_service",
    ]);
  });
});

describe("few-shot selection", () => {
  const query = asTask(SET.queries[0]);

  it("takes the k most similar examples within the token budget", () => {
    const selection = selectFewShot(query, EXAMPLES, { k: 2, maxTokens: 10_000 });
    expect(selection.map((s) => s.example.task.task_id)).toEqual(["contact-create", "contact-es-sync"]);
    expect(selection.every((s) => s.tokens > 0)).toBe(true);
  });

  it("skips an example that would overflow the budget and takes a smaller one that fits", () => {
    const examples = EXAMPLES.map((e) =>
      e.task.task_id === "contact-create" ? asExample(SET.examples[0], "x".repeat(30_000)) : e,
    );
    const selection = selectFewShot(query, examples, { k: 1, maxTokens: 500 });
    expect(selection.map((s) => s.example.task.task_id)).toEqual(["contact-es-sync"]);
    expect(selection[0].tokens).toBeLessThanOrEqual(500);
  });

  it("returns nothing when off, or when nothing is similar", () => {
    expect(selectFewShot(query, EXAMPLES, { k: 0, maxTokens: 1000 })).toEqual([]);
    expect(selectFewShot(asTask(SET.unrelated), EXAMPLES, { k: 3, maxTokens: 1000 })).toEqual([]);
  });

  it("places the pairs after the stable system message and before the task, as assembleContext renders them", async () => {
    const selection = selectFewShot(query, EXAMPLES, { k: 2, maxTokens: 10_000 });
    const pairs = fewShotMessages(selection);
    const assemble = (examples: FewShotExample[]): Promise<AssembledContext> =>
      assembleContext({
        task: query,
        priming: [{ label: "k.md", content: "knowledge" }],
        workspace: {
          taskFiles: [],
          map: [],
          related: [],
          stats: { files: 0, parsed: 0, cached: 0, excluded: 0, ms: 0 },
        },
        counter: estimatingCounter,
        contextSize: 32_768,
        examples,
      });
    const { messages } = await assemble(
      selection.map((picked, i) => ({ label: picked.example.task.task_id, messages: pairs.slice(i * 2, i * 2 + 2) })),
    );
    expect(messages.map((m) => m.role)).toEqual(["system", "user", "assistant", "user", "assistant", "user"]);
    expect(messages[0]).toEqual((await assemble([])).messages[0]);
    expect(messages[1].content).toContain("## Task contact-create");
    expect(JSON.parse(messages[2].content)).toMatchObject({ file_path: "src/contacts/contact-service.ts" });
    expect(messages.at(-1)?.content).toContain(query.objective);
  });

  it("estimates about 3 characters per token", () => {
    expect(estimateTokens("x".repeat(300))).toBe(100);
  });
});
