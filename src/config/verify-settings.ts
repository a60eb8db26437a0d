import type { VerifyConfig, VerifyRuleId } from "./schema.js";

/** Repair rounds allowed when neither config nor `--max-repairs` says otherwise. */
export const DEFAULT_MAX_REPAIRS = 2;
/** Time limits for the external checks when the config sets none. */
export const DEFAULT_TEST_TIMEOUT_MS = 120_000;
export const DEFAULT_LINT_TIMEOUT_MS = 60_000;

/**
 * A rule's switch: on, off, or "auto" (on when the project says so: `no-console-log` turns itself on
 * when the knowledge base forbids `console.log`).
 */
export type RuleSwitch = boolean | "auto";

/** How suggestions are verified, with every default filled in. */
export interface VerifySettings {
  /** true or false when config or a flag decided; undefined = automatic (on for workspaces with a tsconfig). */
  enabled: boolean | undefined;
  /** Who switched verification off, for the UNVERIFIED note ("--no-verify", "verify.enabled=false in …"). */
  disabledBy?: string;
  checks: { typecheck: boolean; rules: boolean; tests: boolean; lint: boolean };
  rules: Record<VerifyRuleId, RuleSwitch>;
  /** Workspace-relative tsconfig path. */
  tsconfig: string;
  testCommand?: string;
  lintCommand?: string;
  testTimeoutMs: number;
  lintTimeoutMs: number;
  maxRepairs: number;
}

/** Command-line overrides for verification (`--no-verify`, `--max-repairs`). */
export interface VerifyOverrides {
  enabled?: boolean;
  maxRepairs?: number;
}

/** Merges the config file's `verify` section and the overrides over the defaults. */
export function resolveVerifySettings(
  file: VerifyConfig | undefined,
  overrides: VerifyOverrides | undefined,
  configPath: string | undefined,
): VerifySettings {
  const rules: Record<VerifyRuleId, RuleSwitch> = {
    "no-any": true,
    "explicit-return-types": true,
    "loc-max": true,
    "no-console-log": "auto",
  };
  for (const entry of file?.rules ?? []) {
    if (typeof entry === "string") rules[entry] = true;
    else rules[entry.id] = entry.enabled;
  }
  const enabled = overrides?.enabled ?? file?.enabled;
  const disabledBy =
    overrides?.enabled === false
      ? "--no-verify"
      : file?.enabled === false
        ? `verify.enabled=false in ${configPath ?? "the config"}`
        : undefined;
  return {
    enabled,
    disabledBy,
    checks: {
      typecheck: file?.checks?.typecheck ?? true,
      rules: file?.checks?.rules ?? true,
      tests: file?.checks?.tests ?? true,
      lint: file?.checks?.lint ?? file?.lint_command !== undefined,
    },
    rules,
    tsconfig: file?.tsconfig ?? "tsconfig.json",
    testCommand: file?.test_command,
    lintCommand: file?.lint_command,
    testTimeoutMs: file?.timeouts?.tests_ms ?? DEFAULT_TEST_TIMEOUT_MS,
    lintTimeoutMs: file?.timeouts?.lint_ms ?? DEFAULT_LINT_TIMEOUT_MS,
    maxRepairs: overrides?.maxRepairs ?? file?.max_repairs ?? DEFAULT_MAX_REPAIRS,
  };
}
