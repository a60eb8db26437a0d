import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EmbeddedBackend } from "../backends/embedded/embedded-backend.js";
import { loadConfig } from "../config/load.js";
import { ContextOverflowError } from "../errors/errors.js";
import type { BuilderTask } from "../task/schema.js";
import { synthesizeTestModel } from "../test-support/fixtures.js";
import { gitRepo } from "../test-support/git-repo.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { assembleContext, importedNames, type AssembleInput, type ContextExplanation } from "./assemble.js";
import { formatExplanation } from "./explain.js";
import { loadPriming, type KnowledgeSection } from "./priming.js";
import { buildSystemMessage } from "./prompt.js";
import { estimatingCounter } from "./token-count.js";
import { gatherWorkspaceContext, normalizeTaskFiles } from "./workspace-context.js";

const SECRET = "sk-THIS-MUST-NEVER-REACH-THE-MODEL";

let root: string;
let backend: EmbeddedBackend;
let sandbox: WorkspaceSandbox;
let priming: KnowledgeSection[];

const TASK: BuilderTask = {
  task_id: "t-ctx",
  objective: "Add createContact with search indexing",
  files: ["src/contact-service.ts", "src/contact-service.test.ts"],
  acceptance: ["validates the email"],
  constraints: { loc_max: 100, pack: "crm" },
};

beforeAll(async () => {
  const model = await synthesizeTestModel();
  const unrelated = Object.fromEntries(
    Array.from({ length: 30 }, (_, i) => [
      `src/modules/module-${String(i).padStart(2, "0")}.ts`,
      `export function helper${i}(value: number): number {\n  return value + ${i};\n}\n`,
    ]),
  );
  root = gitRepo({
    ".gitignore": "private/\n",
    "knowledge/project.md": "# Project\nStrict TypeScript.\n",
    "knowledge/packs/crm.md": "# CRM\nContacts live in table contacts(id, email).\n",
    "src/contact-service.ts":
      'import { query } from "./db.js";\nimport { indexContact } from "./search.js";\n\nexport async function findContact(id: string): Promise<unknown> {\n  return query(id);\n}\n',
    "src/db.ts": "export async function query(sql: string): Promise<unknown> {\n  return sql;\n}\n",
    "src/search.ts": "export async function indexContact(id: string): Promise<void> {\n  void id;\n}\n",
    "src/api.ts": 'import { findContact } from "./contact-service.js";\nexport const route = findContact;\n',
    ".env": `API_KEY=${SECRET}\n`,
    "private/keys.ts": `export const key = "${SECRET}";\n`,
    ...unrelated,
  });
  const config = loadConfig({ cwd: root, overrides: { model, options: { num_thread: 1, num_ctx: 2048 } } });
  expect(config.workspace, "the nearest .git folder is the workspace").toBe(root);
  backend = new EmbeddedBackend(config);
  await backend.prepare();
  sandbox = await WorkspaceSandbox.open({ root });
  priming = await loadPriming(
    [path.join(root, "knowledge/project.md")],
    { crm: [path.join(root, "knowledge/packs/crm.md")] },
    "crm",
    root,
    { sandbox },
  );
});

afterAll(async () => {
  await backend.dispose();
});

async function input(
  contextSize: number,
  task: BuilderTask = TASK,
  explain?: (e: ContextExplanation) => void,
): Promise<AssembleInput> {
  const normalized = await normalizeTaskFiles(sandbox, task);
  return {
    task: normalized,
    priming,
    workspace: await gatherWorkspaceContext(sandbox, normalized),
    counter: backend,
    contextSize,
    numPredict: 512,
    onExplain: explain,
  };
}

const part = (e: ContextExplanation, kind: string): ContextExplanation["parts"] =>
  e.parts.filter((p) => p.kind === kind);
const mapCount = (e: ContextExplanation): number =>
  Number(/repository map: (\d+) of/.exec(part(e, "repo-map").find((p) => p.included)?.label ?? "")?.[1] ?? 0);

describe("assembleContext with the real tokenizer of a synthesized model", () => {
  let full: Awaited<ReturnType<typeof assembleContext>>;

  beforeAll(async () => {
    full = await assembleContext(await input(100_000));
  });

  it("includes everything when it fits, in the stated order, and counts the prompt exactly", async () => {
    expect(full.explanation.parts.every((p) => p.included)).toBe(true);
    expect(full.exact).toBe(true);
    expect(full.promptTokens).toBe((await backend.countPromptTokens(full.messages)).tokens);
    const [system, user] = full.messages.map((m) => m.content) as [string, string];
    expect(system).toContain("Strict TypeScript.");
    expect(system).toContain("Contacts live in table contacts");
    const order = [
      "## Repository map",
      "## File src/contact-service.ts (current content)",
      "## File src/contact-service.test.ts (NEW",
      "## Related code: src/",
      "## Task t-ctx",
    ].map((h) => user.indexOf(h));
    expect(
      order.every((at) => at >= 0),
      JSON.stringify(order),
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(user).toContain("export async function findContact(id: string): Promise<unknown> {");
    expect(part(full.explanation, "related-code").map((p) => p.label)).toEqual([
      "src/search.ts (imported by src/contact-service.ts)",
      "src/api.ts (imports src/contact-service.ts)",
      "src/db.ts (imported by src/contact-service.ts)",
    ]);
    expect(mapCount(full.explanation)).toBe(33);
    // Each part is counted on its own, and the parts add up to about the whole.
    const sum = full.explanation.parts.reduce((total, p) => total + p.tokens, 0);
    expect(Math.abs(sum - full.promptTokens)).toBeLessThan(full.promptTokens * 0.1);
  });

  it("never shows the model deny-listed or git-ignored files", () => {
    expect(JSON.stringify(full.messages)).not.toContain(SECRET);
    expect(JSON.stringify(full.messages)).not.toContain("private/keys.ts");
  });

  it("keeps the system message byte-identical across tasks", async () => {
    const other = await assembleContext(
      await input(100_000, { ...TASK, task_id: "t-2", objective: "Something else entirely", files: ["src/db.ts"] }),
    );
    expect(other.messages[0]?.content).toBe(full.messages[0]?.content);
    expect(other.messages[0]?.content).toBe(buildSystemMessage(priming));
    expect(other.messages[1]?.content).not.toBe(full.messages[1]?.content);
  });

  it("drops related code first, then the map from its tail, then pack files, never the task's files", async () => {
    const reserve = 512;
    const related = part(full.explanation, "related-code").reduce((t, p) => t + p.tokens, 0);

    const tight = await assembleContext(await input(full.promptTokens + reserve - 1));
    expect(part(tight.explanation, "related-code").some((p) => !p.included)).toBe(true);
    expect(mapCount(tight.explanation)).toBe(33);
    expect(tight.promptTokens).toBeLessThanOrEqual(full.promptTokens - 1);

    const noRelated = full.promptTokens - related;
    const tighter = await assembleContext(await input(noRelated + reserve - 40));
    expect(part(tighter.explanation, "related-code").every((p) => !p.included)).toBe(true);
    expect(mapCount(tighter.explanation)).toBeGreaterThan(0);
    expect(mapCount(tighter.explanation)).toBeLessThan(33);
    expect(tighter.messages[1]?.content).toContain("src/api.ts\n  export const route");
    expect(tighter.messages[1]?.content).toMatch(/… \d+ more files not shown/);
    expect(part(tighter.explanation, "pack")[0]?.included).toBe(true);
    const text = formatExplanation(tighter.explanation);
    expect(text).toMatch(/^  dropped +\d+  related-code: src\/db\.ts/m);
    expect(text).toMatch(/^  dropped +\d+  repo-map: repository map tail: \d+ less relevant files$/m);
    expect(text).toMatch(/^  included +\d+  task-file: src\/contact-service\.test\.ts \(NEW\)$/m);

    let overflow: ContextExplanation | undefined;
    const error = await assembleContext(await input(reserve + 50, TASK, (e) => (overflow = e))).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ContextOverflowError);
    const needed = (error as ContextOverflowError).details.needed as number;
    expect((error as Error).message).toContain(`Raise options.num_ctx to at least ${needed}`);
    expect(overflow?.fits).toBe(false);
    expect(part(overflow!, "task-file").every((p) => p.included)).toBe(true);
    expect(part(overflow!, "knowledge").every((p) => p.included)).toBe(true);
    expect(part(overflow!, "pack").every((p) => !p.included)).toBe(true);

    // The number in the message is right: a window of exactly that size fits, with everything droppable dropped.
    const minimal = await assembleContext(await input(needed));
    expect(minimal.promptTokens + reserve).toBe(needed);
    expect(part(minimal.explanation, "pack").every((p) => !p.included)).toBe(true);
    expect(mapCount(minimal.explanation)).toBe(0);
    expect(minimal.messages[1]?.content).toContain("## File src/contact-service.ts (current content)");

    const packTokens = part(full.explanation, "pack").reduce((t, p) => t + p.tokens, 0);
    const withPack = await assembleContext(await input(needed + packTokens + 8));
    expect(
      part(withPack.explanation, "pack").every((p) => p.included),
      "pack files go after the whole map",
    ).toBe(true);
    expect(mapCount(withPack.explanation)).toBeLessThan(33);
  });

  it("estimates conservatively without a tokenizer, and says so", async () => {
    const estimated = await assembleContext({ ...(await input(100_000)), counter: estimatingCounter });
    expect(estimated.exact).toBe(false);
    expect(estimated.promptTokens).toBeGreaterThan(0);
  });

  it("marks task files that do not exist as NEW and withholds ignored ones", async () => {
    const result = await assembleContext(
      await input(100_000, { ...TASK, files: ["src/brand-new.ts", "private/keys.ts"] }),
    );
    const user = result.messages[1]?.content ?? "";
    expect(user).toContain("## File src/brand-new.ts (NEW: it does not exist yet)");
    expect(user).toContain("## File private/keys.ts (exists; content withheld)");
    expect(user).not.toContain(SECRET);
    expect(part(result.explanation, "task-file").map((p) => p.label)).toEqual([
      "src/brand-new.ts (NEW)",
      "private/keys.ts (withheld: .gitignore: private/)",
    ]);
  });

  it("refuses task files outside the workspace or on the deny list before reading anything", async () => {
    await expect(normalizeTaskFiles(sandbox, { ...TASK, files: ["../outside.ts"] })).rejects.toThrow(
      /outside the workspace/,
    );
    await expect(normalizeTaskFiles(sandbox, { ...TASK, files: [".env"] })).rejects.toThrow(/deny list/);
    const absolute = await normalizeTaskFiles(sandbox, {
      ...TASK,
      files: [path.join(root, "src", "db.ts"), "src\\db.ts"],
    });
    expect(absolute.files).toEqual(["src/db.ts"]);
  });
});

describe("the names an import brings in (the repository map's links)", () => {
  it("reads each name under its exported name, types included", () => {
    expect(importedNames(" a, type B,\n  c as d, ")).toEqual(["a", "B", "c"]);
  });
});
