import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../errors/errors.js";
import { loadConfig } from "./load.js";

function withConfig(config: unknown): string {
  const root = mkdtempSync(path.join(tmpdir(), "builder-vcfg-"));
  writeFileSync(path.join(root, "builder.config.json"), JSON.stringify(config));
  return root;
}

const env = { HOME: "/nonexistent-home" } as NodeJS.ProcessEnv;

describe("the verify section of builder.config.json", () => {
  it("defaults: automatic, every check but lint, all rules (console.log by the knowledge base), 2 repairs", () => {
    const config = loadConfig({ cwd: withConfig({}), env });
    expect(config.verify).toMatchObject({
      enabled: undefined,
      checks: { typecheck: true, rules: true, tests: true, lint: false },
      rules: { "no-any": true, "explicit-return-types": true, "loc-max": true, "no-console-log": "auto" },
      tsconfig: "tsconfig.json",
      maxRepairs: 2,
    });
  });

  it("switches rules by id, turns lint on with a lint command, and lets flags win", () => {
    const root = withConfig({
      verify: {
        rules: [{ id: "no-any", enabled: false }, "no-console-log"],
        lint_command: "eslint {files}",
        max_repairs: 4,
        timeouts: { tests_ms: 5000 },
      },
    });
    const config = loadConfig({ cwd: root, env, overrides: { verify: { enabled: false, maxRepairs: 1 } } });
    expect(config.verify.rules).toMatchObject({ "no-any": false, "no-console-log": true, "loc-max": true });
    expect(config.verify.checks.lint).toBe(true);
    expect(config.verify).toMatchObject({
      enabled: false,
      disabledBy: "--no-verify",
      maxRepairs: 1,
      testTimeoutMs: 5000,
    });
  });

  it("names the field for an unknown rule id or a bad value", () => {
    expect(() => loadConfig({ cwd: withConfig({ verify: { rules: ["no-semicolons"] } }), env })).toThrow(ConfigError);
    expect(() => loadConfig({ cwd: withConfig({ verify: { rules: ["no-semicolons"] } }), env })).toThrow(
      /verify\.rules\.0/,
    );
    expect(() => loadConfig({ cwd: withConfig({ verify: { max_repairs: -1 } }), env })).toThrow(/verify\.max_repairs/);
    expect(() => loadConfig({ cwd: withConfig({ verify: { checks: { typo: true } } }), env })).toThrow(
      /verify\.checks/,
    );
  });

  it("reads verify.sandbox as a mode or as an object with the network and limits, and rejects other modes", () => {
    expect(loadConfig({ cwd: withConfig({}), env }).verify.sandbox).toMatchObject({
      mode: "auto",
      network: false,
      memoryMb: 4096,
      maxProcesses: 1024,
      cpuSeconds: 600,
    });
    expect(loadConfig({ cwd: withConfig({ verify: { sandbox: "required" } }), env }).verify.sandbox.mode).toBe(
      "required",
    );
    const root = withConfig({
      deny: ["secrets/"],
      verify: { sandbox: { network: true, memory_mb: 2048, max_processes: 256, cpu_seconds: 60 } },
    });
    expect(loadConfig({ cwd: root, env }).verify.sandbox).toMatchObject({
      mode: "auto",
      network: true,
      memoryMb: 2048,
      maxProcesses: 256,
      cpuSeconds: 60,
      deny: ["secrets/"],
    });
    expect(() => loadConfig({ cwd: withConfig({ verify: { sandbox: "maybe" } }), env })).toThrow(ConfigError);
    expect(() => loadConfig({ cwd: withConfig({ verify: { sandbox: "maybe" } }), env })).toThrow(/verify\.sandbox/);
  });
});
