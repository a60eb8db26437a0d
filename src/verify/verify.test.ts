import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveVerifySettings } from "../config/verify-settings.js";
import type { BuilderTask } from "../task/schema.js";
import { hashTree, typescriptProject } from "../test-support/ts-project-fixture.js";
import type { CheckResult } from "./types.js";
import { planVerification, Verifier, type VerificationReport } from "./verify.js";

const TASK: BuilderTask = {
  task_id: "t1",
  objective: "Add a multiply function",
  files: ["src/multiply.ts"],
  acceptance: ["multiplies two numbers", "has vitest tests"],
  constraints: { loc_max: 20, pack: "" },
};

const GOOD_CODE =
  "/** Multiplies two numbers. */\nexport function multiply(a: number, b: number): number {\n  return a * b;\n}\n";
const GOOD_TEST =
  'import { describe, expect, it } from "vitest";\nimport { multiply } from "./multiply.js";\n\ndescribe("multiply", () => {\n  it("multiplies", () => {\n    expect(multiply(3, 4)).toBe(12);\n  });\n});\n';

const PARSE = "export function parse(input: any) {\n  return Number(input);\n}\n";

function check(report: VerificationReport, name: string): CheckResult {
  const found = report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no ${name} check`);
  return found;
}

describe("Verifier on a real TypeScript project (vitest)", () => {
  let workspace: string;
  let verifier: Verifier;
  let before: Record<string, string>;
  const settings = resolveVerifySettings(undefined, undefined, undefined);
  const knowledge = "Rules: never use `console.log`; use the logger.";
  const verify = (
    edits: Array<{ path: string; content: string }>,
    task: BuilderTask = TASK,
  ): Promise<VerificationReport> => verifier.verify(edits, { task, knowledge });

  beforeAll(async () => {
    // legacy.ts imports math.ts and already has a type error: it must never be blamed on a suggestion.
    const legacy =
      'import { add } from "./math.js";\n\nexport const broken: number = "old error";\nexport const sum: number = add(1, 2);\n';
    // parse.ts already breaks no-any and explicit-return-types: edits to it must not be failed for that.
    workspace = typescriptProject({ git: true, files: { "src/legacy.ts": legacy, "src/parse.ts": PARSE } });
    before = hashTree(workspace);
    verifier = await Verifier.open(workspace, settings);
  });

  afterAll(async () => {
    await verifier.dispose();
    expect(hashTree(workspace)).toEqual(before);
  });

  it("passes a correct suggestion with its tests", async () => {
    const report = await verify([
      { path: "src/multiply.ts", content: GOOD_CODE },
      { path: "src/multiply.test.ts", content: GOOD_TEST },
    ]);
    expect(report.checks.map((c) => [c.name, c.status])).toEqual([
      ["typecheck", "passed"],
      ["rules", "passed"],
      ["tests", "passed"],
      ["lint", "skipped"],
    ]);
    expect(report.verdict).toBe("VERIFIED");
    expect(check(report, "tests").summary).toMatch(/1 test\(s\) passed/);
  });

  it("fails a type error with file, line and message", async () => {
    const code = GOOD_CODE.replace("return a * b;", 'return "a" + b;');
    const report = await verify([{ path: "src/multiply.ts", content: code }], { ...TASK, acceptance: ["multiplies"] });
    expect(report.verdict).toBe("FAILED");
    const typecheck = check(report, "typecheck");
    expect(typecheck.status).toBe("failed");
    expect(typecheck.diagnostics[0]).toMatch(
      /^src\/multiply\.ts:3:3 TS2322 Type 'string' is not assignable to type 'number'/,
    );
    expect(check(report, "tests").status).toBe("skipped");
    // The failed typecheck is the reason; the "nothing to check" note of an UNVERIFIED round would contradict it.
    expect(report.notes.join("\n")).not.toMatch(/had anything to check/);
  });

  it("fails explicit and implicit any under no-any", async () => {
    const code = "export function multiply(a: any, b): number {\n  return a * b;\n}\n";
    const report = await verify([{ path: "src/multiply.ts", content: code }], { ...TASK, acceptance: [] });
    const rules = check(report, "rules");
    expect(rules.status).toBe("failed");
    expect(rules.diagnostics).toContainEqual(expect.stringMatching(/^src\/multiply\.ts:1:29 no-any explicit `any`/));
    expect(rules.diagnostics).toContainEqual(
      expect.stringMatching(/^src\/multiply\.ts:1:34 no-any parameter `b` is implicitly `any`/),
    );
    // strict mode reports the implicit any as a type error too
    expect(check(report, "typecheck").diagnostics.join("\n")).toMatch(/TS7006/);
  });

  it("fails a missing return type, naming the inferred type", async () => {
    const code =
      "export function multiply(a: number, b: number) {\n  return a * b;\n}\nexport const half = (n: number) => n / 2;\nclass Box {\n  size() {\n    return 1;\n  }\n}\nexport const box = new Box();\n";
    const report = await verify([{ path: "src/multiply.ts", content: code }], { ...TASK, acceptance: [] });
    const rules = check(report, "rules");
    expect(rules.diagnostics).toEqual([
      "src/multiply.ts:1:17 explicit-return-types function `multiply` has no return type: declare it (inferred: number).",
      "src/multiply.ts:4:21 explicit-return-types exported function `half` has no return type: declare it (inferred: number).",
      "src/multiply.ts:6:3 explicit-return-types method `size` has no return type: declare it (inferred: number).",
    ]);
    expect(check(report, "typecheck").status).toBe("passed");
  });

  it("fails a change that touches more lines than constraints.loc_max", async () => {
    const code =
      GOOD_CODE + Array.from({ length: 25 }, (_, i) => `export const c${i}: number = ${i};`).join("\n") + "\n";
    const report = await verify([{ path: "src/multiply.ts", content: code }], { ...TASK, acceptance: [] });
    const rules = check(report, "rules");
    expect(rules.status).toBe("failed");
    expect(rules.diagnostics).toEqual([
      expect.stringMatching(
        /^src\/multiply\.ts loc-max the change touches 29 lines \(tests not counted\); constraints\.loc_max allows 20/,
      ),
    ]);
  });

  it("fails console.log when the knowledge base forbids it, and not when the rule is off", async () => {
    const code = GOOD_CODE.replace("return a * b;", "console.log(a);\n  return a * b;");
    const report = await verify([{ path: "src/multiply.ts", content: code }], { ...TASK, acceptance: [] });
    expect(check(report, "rules").diagnostics).toEqual([
      expect.stringMatching(/^src\/multiply\.ts:3:3 no-console-log/),
    ]);
    const off = await Verifier.open(
      workspace,
      resolveVerifySettings(
        { rules: [{ id: "no-console-log", enabled: false }], checks: { tests: false } },
        undefined,
        undefined,
      ),
    );
    try {
      const report2 = await off.verify([{ path: "src/multiply.ts", content: code }], {
        task: { ...TASK, acceptance: [] },
        knowledge,
      });
      expect(report2.verdict).toBe("VERIFIED");
    } finally {
      await off.dispose();
    }
  });

  it("fails a failing test with the test's name and assertion", async () => {
    const report = await verify([
      { path: "src/multiply.ts", content: GOOD_CODE },
      { path: "src/multiply.test.ts", content: GOOD_TEST.replace("toBe(12)", "toBe(13)") },
    ]);
    const tests = check(report, "tests");
    expect(tests.status).toBe("failed");
    expect(tests.diagnostics[0]).toMatch(
      /^src\/multiply\.test\.ts: multiply multiplies: AssertionError: expected 12 to be 13/,
    );
    expect(report.verdict).toBe("FAILED");
  });

  it("fails a test file whose tests are all skipped, and counts only the tests that ran", async () => {
    const wrong = GOOD_CODE.replace("a * b", "a - b");
    const report = await verify([
      { path: "src/multiply.ts", content: wrong },
      { path: "src/multiply.test.ts", content: GOOD_TEST.replace('it("multiplies"', 'it.skip("multiplies"') },
    ]);
    const tests = check(report, "tests");
    expect(tests.status).toBe("failed");
    expect(tests.diagnostics).toEqual([
      expect.stringMatching(/^src\/multiply\.test\.ts: no test ran \(1 skipped\/todo\)/),
    ]);
    expect(tests.summary).toMatch(/^vitest: no test ran \(1 skipped\/todo\)/);
    expect(report.verdict).toBe("FAILED");
    const mixed = GOOD_TEST.replace("  });\n});", '  });\n  it.todo("multiplies negatives");\n});');
    const partly = await verify([
      { path: "src/multiply.ts", content: GOOD_CODE },
      { path: "src/multiply.test.ts", content: mixed },
    ]);
    expect(check(partly, "tests")).toMatchObject({
      status: "passed",
      summary: expect.stringMatching(/^vitest: 1 test\(s\) passed, 1 skipped\/todo/),
    });
  });

  it("fails only the rule violations an edit adds, not those the file already had", async () => {
    const added = "\n/** Doubles a number. */\nexport function twice(n: number): number {\n  return n * 2;\n}\n";
    const clean = await verify([{ path: "src/parse.ts", content: PARSE + added }], { ...TASK, acceptance: [] });
    expect(check(clean, "rules")).toMatchObject({ status: "passed", diagnostics: [] });
    expect(clean.verdict).toBe("VERIFIED");
    const worse = PARSE + added.replace("n: number): number", "n: number, m: any): number");
    const report = await verify([{ path: "src/parse.ts", content: worse }], { ...TASK, acceptance: [] });
    expect(check(report, "rules").diagnostics).toEqual([
      expect.stringMatching(/^src\/parse\.ts:6:37 no-any explicit `any`/),
    ]);
    // A second `any` like the one the file had is new too: occurrences are counted.
    const twice = PARSE.replace("}\n", "}\nexport function parse2(input: any): number {\n  return Number(input);\n}\n");
    const again = await verify([{ path: "src/parse.ts", content: twice }], { ...TASK, acceptance: [] });
    expect(check(again, "rules").diagnostics).toEqual([
      expect.stringMatching(/^src\/parse\.ts:4:\d+ no-any explicit `any`/),
    ]);
  });

  it("fails a method without a return type in an exported object literal, not in a typed one", async () => {
    const code =
      "export const api = {\n  get(x: number) {\n    return x;\n  },\n};\nexport const typed: { f(): number } = {\n  f() {\n    return 1;\n  },\n};\n";
    const report = await verify([{ path: "src/api.ts", content: code }], { ...TASK, acceptance: [] });
    expect(check(report, "rules").diagnostics).toEqual([
      "src/api.ts:2:3 explicit-return-types method `get` has no return type: declare it (inferred: number).",
    ]);
  });

  it("fails when the acceptance asks for tests and the suggestion has none", async () => {
    const report = await verify([{ path: "src/multiply.ts", content: GOOD_CODE }]);
    expect(check(report, "tests").status).toBe("failed");
    expect(check(report, "tests").diagnostics[0]).toMatch(/acceptance asks for tests \("has vitest tests"\)/);
  });

  it("does not call a change verified when neither typecheck nor tests had anything to check", async () => {
    const report = await verify([{ path: "docs/notes.md", content: "# notes\n" }], { ...TASK, acceptance: [] });
    expect(report.checks.map((c) => c.status)).toEqual(["skipped", "passed", "skipped", "skipped"]);
    expect(report.verdict).toBe("UNVERIFIED");
    expect(report.notes).toContainEqual(expect.stringMatching(/had anything to check/));
  });

  it("reports new errors in files importing the changed file, not their old ones", async () => {
    const report = await verify(
      [{ path: "src/math.ts", content: "export function add(a: string, b: string): string {\n  return a + b;\n}\n" }],
      { ...TASK, acceptance: [] },
    );
    const typecheck = check(report, "typecheck");
    expect(typecheck.status).toBe("failed");
    expect(typecheck.diagnostics).toContainEqual(
      expect.stringMatching(/^src\/report\.ts:4:\d+ TS2345 Argument of type 'number'/),
    );
    expect(typecheck.diagnostics).toContainEqual(
      expect.stringMatching(/^src\/legacy\.ts:4:14 TS2322 Type 'string' is not assignable to type 'number'/),
    );
    expect(typecheck.diagnostics.join("\n")).not.toMatch(/legacy\.ts:3:/);
    expect(typecheck.summary).toMatch(/2 importer/);
  });
});

describe("Verifier on a project that allows implicit any", () => {
  it("still fails an implicit any under no-any, which the project's own typecheck lets through", async () => {
    const loose = JSON.stringify({
      compilerOptions: {
        target: "ES2022",
        module: "NodeNext",
        moduleResolution: "NodeNext",
        strict: false,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      include: ["src"],
    });
    const workspace = typescriptProject({ runner: "none", files: { "tsconfig.json": loose } });
    const verifier = await Verifier.open(workspace, resolveVerifySettings(undefined, undefined, undefined));
    try {
      const code = "export function multiply(a: number, b): number {\n  return a * b;\n}\n";
      const report = await verifier.verify([{ path: "src/multiply.ts", content: code }], {
        task: { ...TASK, acceptance: [] },
        knowledge: "",
      });
      expect(check(report, "typecheck").status).toBe("passed");
      expect(check(report, "rules").diagnostics).toEqual([
        "src/multiply.ts:1:37 no-any parameter `b` is implicitly `any`: give it a type.",
      ]);
    } finally {
      await verifier.dispose();
    }
  });
});

describe("Verifier with node:test", () => {
  it("runs a real node:test file (TypeScript, Node's own runner) and collects the failure", async () => {
    const workspace = typescriptProject({ runner: "node-test" });
    const verifier = await Verifier.open(workspace, resolveVerifySettings(undefined, undefined, undefined));
    try {
      const test =
        'import { test } from "node:test";\nimport assert from "node:assert/strict";\nimport { multiply } from "./multiply.js";\n\ntest("multiplies", () => {\n  assert.equal(multiply(3, 4), 12);\n});\n';
      const pass = await verifier.verify(
        [
          { path: "src/multiply.ts", content: GOOD_CODE },
          { path: "src/multiply.test.ts", content: test },
        ],
        { task: TASK, knowledge: "" },
      );
      expect(pass.checks.map((c) => [c.name, c.status])).toEqual([
        ["typecheck", "passed"],
        ["rules", "passed"],
        ["tests", "passed"],
        ["lint", "skipped"],
      ]);
      expect(pass.checks[2]?.summary).toMatch(/^node-test: 1 test\(s\) passed/);
      const fail = await verifier.verify(
        [
          { path: "src/multiply.ts", content: GOOD_CODE.replace("a * b", "a + b") },
          { path: "src/multiply.test.ts", content: test },
        ],
        { task: TASK, knowledge: "" },
      );
      expect(fail.verdict).toBe("FAILED");
      expect(fail.checks[2]?.diagnostics[0]).toMatch(/^src\/multiply\.test\.ts: multiplies: .*7 !== 12/);
      const skippedOnly = await verifier.verify(
        [
          { path: "src/multiply.ts", content: GOOD_CODE.replace("a * b", "a + b") },
          { path: "src/multiply.test.ts", content: test.replace('test("multiplies"', 'test.skip("multiplies"') },
        ],
        { task: TASK, knowledge: "" },
      );
      expect(skippedOnly.verdict).toBe("FAILED");
      expect(skippedOnly.checks[2]).toMatchObject({
        status: "failed",
        summary: expect.stringMatching(/^node-test: no test ran \(1 skipped\/todo\)/),
      });
    } finally {
      await verifier.dispose();
    }
  });
});

describe("planVerification", () => {
  const settings = resolveVerifySettings(undefined, undefined, undefined);

  it("skips non-TypeScript workspaces automatically, with the reason", () => {
    const plain = typescriptProject({ runner: "none" });
    const noTs = planVerification(plain + "/src", settings);
    expect(noTs).toEqual({
      run: false,
      reason: expect.stringMatching(/^no tsconfig\.json in .*not a TypeScript workspace/),
    });
    expect(planVerification(plain, settings)).toEqual({ run: true, tsconfig: "tsconfig.json" });
  });

  it("honours --no-verify and an explicit enabled=true", () => {
    const plain = typescriptProject({ runner: "none" });
    expect(planVerification(plain, resolveVerifySettings(undefined, { enabled: false }, undefined))).toEqual({
      run: false,
      reason: "verification was switched off (--no-verify)",
    });
    expect(planVerification(plain + "/src", resolveVerifySettings({ enabled: true }, undefined, undefined))).toEqual({
      run: true,
      tsconfig: undefined,
    });
  });
});
