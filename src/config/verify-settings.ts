import type { SANDBOX_MODES, VerifyConfig, VerifyRuleId } from "./schema.js";

/** Repair rounds allowed when neither config nor `--max-repairs` says otherwise. */
export const DEFAULT_MAX_REPAIRS = 2;
/** Time limits for the external checks when the config sets none. */
export const DEFAULT_TEST_TIMEOUT_MS = 120_000;
export const DEFAULT_LINT_TIMEOUT_MS = 60_000;

/** Sandbox limits when the config sets none: generous for real suites, tight enough to stop a runaway. */
export const DEFAULT_SANDBOX_MEMORY_MB = 4096;
export const DEFAULT_SANDBOX_MAX_PROCESSES = 1024;
export const DEFAULT_SANDBOX_CPU_SECONDS = 600;

/** `verify.sandbox`'s mode. */
export type SandboxMode = (typeof SANDBOX_MODES)[number];

/** How model-written code is sandboxed, with every default filled in. */
export interface SandboxSettings {
  mode: SandboxMode;
  /** Whether sandboxed commands may use the network (default false: loopback only, in a fresh namespace). */
  network: boolean;
  /** Memory per process (RLIMIT_DATA), in MiB. */
  memoryMb: number;
  /** Processes (and threads) the sandboxed tree may hold at once. */
  maxProcesses: number;
  /** CPU time per process, in seconds. */
  cpuSeconds: number;
  /** Where the mode came from, for notes ("verify.sandbox=off in …"). */
  source: string;
  /** The config's `deny` patterns: files matching them are hidden from sandboxed commands too. */
  deny: readonly string[];
}

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
  sandbox: SandboxSettings;
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
  deny: readonly string[] = [],
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
    sandbox: resolveSandboxSettings(file?.sandbox, configPath, deny),
  };
}

/** `verify.sandbox` (a mode, or the object form) over the defaults. */
export function resolveSandboxSettings(
  file: VerifyConfig["sandbox"],
  configPath: string | undefined,
  deny: readonly string[] = [],
): SandboxSettings {
  const object = typeof file === "object" ? file : {};
  const mode = typeof file === "string" ? file : (object.mode ?? "auto");
  return {
    mode,
    network: object.network ?? false,
    memoryMb: object.memory_mb ?? DEFAULT_SANDBOX_MEMORY_MB,
    maxProcesses: object.max_processes ?? DEFAULT_SANDBOX_MAX_PROCESSES,
    cpuSeconds: object.cpu_seconds ?? DEFAULT_SANDBOX_CPU_SECONDS,
    source: file === undefined ? "the default" : `verify.sandbox in ${configPath ?? "the config"}`,
    deny,
  };
}
