import { cpSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateModelfile } from "../../modelfile/syntax.js";
import { jsonLines, runCli } from "../../test-support/cli.js";
import { tempDir } from "../../test-support/fixtures.js";
import { startOllamaLikeServer, type OllamaLikeServer } from "../../test-support/ollama-like-server.js";

const FIXTURE = fileURLToPath(new URL("../../modelfile/__fixtures__/workspace", import.meta.url));
let server: OllamaLikeServer;
let unsupported: OllamaLikeServer;
let workspace: string;

beforeAll(async () => {
  server = await startOllamaLikeServer({ models: [{ name: "qwen2.5-coder:7b", size: 1 }] });
  unsupported = await startOllamaLikeServer({ create: "unsupported" });
  workspace = tempDir("builder-modelfile-ws-");
  cpSync(FIXTURE, workspace, { recursive: true });
});

afterAll(async () => {
  await server.close();
  await unsupported.close();
});

describe("builder modelfile", () => {
  it("prints a valid Modelfile on stdout", async () => {
    const result = await runCli(["modelfile"], { cwd: workspace, env: { HOME: workspace } });
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^# Written by `builder modelfile`/);
    expect(validateModelfile(result.stdout).ok).toBe(true);
    expect(
      jsonLines(result.stderr).some((l) => String(l.msg).includes("''' (it would end the Modelfile value early)")),
    ).toBe(true);
  });

  it("--out writes the file and --create sends it to the server", async () => {
    const out = path.join(workspace, "Modelfile");
    const result = await runCli(["modelfile", "--out", out, "--create", "billing-coder", "--host", server.url], {
      cwd: workspace,
      env: { HOME: workspace },
    });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("");
    expect(readFileSync(out, "utf8")).toContain("FROM qwen2.5-coder:7b");
    expect(result.stderr).toContain(`Created Ollama model billing-coder at ${server.url} (status: success)`);
    expect(
      server.requests.some((r) => r.path === "/api/create" && (r.body as { model?: string }).model === "billing-coder"),
    ).toBe(true);
  });

  it("exits 6 with a clear message when the server cannot create models", async () => {
    const result = await runCli(["modelfile", "--create", "x", "--host", unsupported.url], {
      cwd: workspace,
      env: { HOME: workspace },
    });
    expect(result.code).toBe(6);
    const error = jsonLines(result.stderr).find((l) => "error" in l)?.error as { code: string; message: string };
    expect(error.message).toContain("does not support creating models");
  });
});
