import { existsSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { jsonLines, runCli } from "../test-support/cli.js";
import { tempDir } from "../test-support/fixtures.js";

function errorOf(stderr: string): { code: string; message: string } | undefined {
  return jsonLines(stderr).find((line) => "error" in line)?.error as { code: string; message: string } | undefined;
}

/** Bad settings from flags and the environment end with a clear error before anything runs or is written. */
describe("builder refuses bad settings up front", () => {
  it("--threads -1 is a usage error that says 0 / auto means measured", async () => {
    const result = await runCli(["run", "-m", "x", "--threads", "-1"], { cwd: tempDir("builder-threads-") });
    expect(result.code).toBe(2);
    expect(errorOf(result.stderr)?.message).toMatch(/--threads must be a positive whole number, got "-1"/);
    expect(errorOf(result.stderr)?.message).toMatch(/0 or auto/);
  });

  it("BUILDER_LOG_LEVEL=bogus is CONFIG_INVALID naming the allowed levels", async () => {
    const result = await runCli(["models", "--json"], {
      cwd: tempDir("builder-loglevel-"),
      env: { BUILDER_LOG_LEVEL: "bogus" },
    });
    expect(result.code).toBe(2);
    expect(errorOf(result.stderr)?.code).toBe("CONFIG_INVALID");
    expect(errorOf(result.stderr)?.message).toContain("fatal, error, warn, info, debug, trace, silent");
  });

  it("an OLLAMA_HOST that is no address is CONFIG_INVALID, not a server error", async () => {
    const result = await runCli(["run", "-m", "x", "--backend", "ollama", "--model", "m"], {
      cwd: tempDir("builder-host-"),
      env: { OLLAMA_HOST: "gpu box:11434" },
    });
    expect(result.code).toBe(2);
    expect(errorOf(result.stderr)?.code).toBe("CONFIG_INVALID");
    expect(errorOf(result.stderr)?.message).toContain("OLLAMA_HOST");
  });

  it("a mistyped --workspace is an error and creates no <typo>/.builder/", async () => {
    const root = tempDir("builder-ws-");
    const result = await runCli(["run", "-m", "x", "--model", "/nonexistent/m.gguf", "--workspace", "wrokspace"], {
      cwd: root,
    });
    expect(result.code).toBe(2);
    expect(errorOf(result.stderr)?.message).toMatch(/--workspace: .*wrokspace is not an existing folder/);
    expect(existsSync(path.join(root, "wrokspace"))).toBe(false);
  });
});

describe("--log-format", () => {
  it("pretty writes readable lines, json (the default off a terminal) JSON lines; a bad BUILDER_LOG_FORMAT is CONFIG_INVALID", async () => {
    const cwd = tempDir("builder-logformat-");
    const pretty = await runCli(["run", "-m", "x", "--log-format", "pretty"], {
      cwd,
      env: { OLLAMA_MODEL: "qwen2.5-coder:7b" },
    });
    expect(pretty.stderr).toMatch(/^\d\d:\d\d:\d\d WARN  OLLAMA_MODEL=qwen2.5-coder:7b applies to the ollama backend/m);
    expect(pretty.stderr).not.toContain("\u001b[");
    const json = await runCli(["run", "-m", "x"], { cwd, env: { OLLAMA_MODEL: "qwen2.5-coder:7b" } });
    expect(jsonLines(json.stderr).some((line) => line.level === "warn" && /OLLAMA_MODEL/.test(String(line.msg)))).toBe(
      true,
    );
    const bad = await runCli(["run", "-m", "x"], { cwd, env: { BUILDER_LOG_FORMAT: "fancy" } });
    expect(bad.code).toBe(2);
    expect(errorOf(bad.stderr)?.code).toBe("CONFIG_INVALID");
  });
});

describe("usage errors", () => {
  it("print the one error line and the --help hint, not the whole help", async () => {
    const result = await runCli(["run", "--bogus"], { cwd: tempDir("builder-usage-") });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/unknown option '--bogus'/);
    expect(result.stderr).toContain("--help");
    expect(result.stderr).not.toContain("Options:");
  });
});
