import type { VerifyRuleId } from "../config/schema.js";
import type { VerifySettings } from "../config/verify-settings.js";

/**
 * The rules that are on for a run: switched on in the config, or "auto" and asked for by the knowledge
 * base. The one answer to "which rules apply", so that what the prompt promises the model and what
 * verification checks cannot drift apart. Empty when the rules check itself is off.
 */
export function activeRules(
  settings: Pick<VerifySettings, "checks" | "rules">,
  knowledge: string,
): ReadonlySet<VerifyRuleId> {
  const active = new Set<VerifyRuleId>();
  if (!settings.checks.rules) return active;
  for (const [id, value] of Object.entries(settings.rules) as Array<[VerifyRuleId, boolean | "auto"]>) {
    if (value === true || (value === "auto" && knowledgeForbids(id, knowledge))) active.add(id);
  }
  return active;
}

/** What each rule promises the model, in the prompt's words (`locMax` is the task's `constraints.loc_max`). */
export function rulePromise(rule: VerifyRuleId, locMax: number): string {
  const promises: Record<VerifyRuleId, string> = {
    "no-any": "no `any`",
    "explicit-return-types": "explicit return types on functions and methods",
    "loc-max": `at most ${locMax} changed lines (tests not counted)`,
    "no-console-log": "no console.log",
  };
  return promises[rule];
}

/** True when the knowledge base forbids what an "auto" rule checks. */
export function knowledgeForbids(rule: VerifyRuleId, knowledge: string): boolean {
  if (rule !== "no-console-log") return false;
  return knowledge
    .split("\n")
    .some(
      (line) =>
        /console\.log/.test(line) &&
        /\b(no|never|don'?t|do not|avoid|forbid\w*|must not|not allowed|instead of)\b/i.test(line),
    );
}
