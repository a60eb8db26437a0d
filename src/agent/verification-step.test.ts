import { beforeAll, describe, expect, it } from "vitest";
import { VERIFY_RULE_IDS, type VerifyRuleId } from "../config/schema.js";
import { resolveVerifySettings } from "../config/verify-settings.js";
import type { BuilderTask } from "../task/schema.js";
import { typescriptProject } from "../test-support/ts-project-fixture.js";
import { rulePromise } from "../verify/active-rules.js";
import { Verifier } from "../verify/verify.js";
import { verificationSection, verifyAnswer } from "./verification-step.js";

const TASK: BuilderTask = {
  task_id: "t1",
  objective: "Add a parse function",
  files: ["src/parse.ts"],
  acceptance: [],
  constraints: { loc_max: 1, pack: "" },
};
// Breaks every rule at once: an explicit `any`, no return type, console.log, and more lines than loc_max.
const BREAKS_EVERY_RULE = "export function parse(input: any) {\n  console.log(input);\n  return Number(input);\n}\n";
const KNOWLEDGE = "Never use console.log; use the logger.";

/** The rule ids a verification round reported violations of. */
async function checkedRules(workspace: string, off: VerifyRuleId | undefined): Promise<Set<string>> {
  const verifier = await Verifier.open(workspace, settingsWithout(off));
  try {
    const report = await verifier.verify([{ path: "src/parse.ts", content: BREAKS_EVERY_RULE }], {
      task: TASK,
      knowledge: KNOWLEDGE,
    });
    const diagnostics = report.checks.find((check) => check.name === "rules")?.diagnostics ?? [];
    return new Set(VERIFY_RULE_IDS.filter((id) => diagnostics.some((line) => line.includes(` ${id} `))));
  } finally {
    await verifier.dispose();
  }
}

function settingsWithout(off: VerifyRuleId | undefined): ReturnType<typeof resolveVerifySettings> {
  const rules = off === undefined ? [] : [{ id: off, enabled: false }];
  return resolveVerifySettings({ rules, checks: { typecheck: false, tests: false } }, undefined, undefined);
}

describe("the rules the prompt promises are the rules verification checks", () => {
  let workspace: string;
  beforeAll(() => {
    workspace = typescriptProject();
  });

  it("promises and checks every rule when all are on (no-console-log because the knowledge forbids it)", async () => {
    const prompt = verificationSection(TASK, workspace, settingsWithout(undefined), KNOWLEDGE).content;
    for (const id of VERIFY_RULE_IDS) expect(prompt).toContain(rulePromise(id, TASK.constraints.loc_max));
    expect([...(await checkedRules(workspace, undefined))].sort()).toEqual([...VERIFY_RULE_IDS].sort());
  });

  it.each(VERIFY_RULE_IDS)(
    "a rule turned off in config (%s) is neither promised in the prompt nor checked",
    async (id) => {
      const prompt = verificationSection(TASK, workspace, settingsWithout(id), KNOWLEDGE).content;
      expect(prompt).not.toContain(rulePromise(id, TASK.constraints.loc_max));
      const checked = await checkedRules(workspace, id);
      expect(checked.has(id)).toBe(false);
      expect(checked.size).toBe(VERIFY_RULE_IDS.length - 1);
    },
  );
});

describe("an answer naming a path outside the workspace", () => {
  it("is a FAILED verdict with one failed paths check naming the path, and nothing is verified", async () => {
    const workspace = typescriptProject();
    const verifier = await Verifier.open(workspace, settingsWithout(undefined));
    try {
      const answer = { file_path: "../outside.ts", suggested_code: "export {};\n", explanation: "", tests: "" };
      const report = await verifyAnswer(verifier, workspace, answer, TASK, KNOWLEDGE);
      expect(report.verdict).toBe("FAILED");
      expect(report.checks.map((check) => [check.name, check.status, check.summary])).toEqual([
        ["paths", "failed", "file_path is not inside the workspace"],
      ]);
      expect(report.checks[0]?.diagnostics.join("\n")).toContain("outside.ts");
    } finally {
      await verifier.dispose();
    }
  });
});
