import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { tempDir } from "../test-support/fixtures.js";
import { startOllamaLikeServer, type OllamaLikeServer } from "../test-support/ollama-like-server.js";
import { createOllamaModel } from "./create.js";
import { bestExamples, modelfileFromConfig } from "./from-config.js";
import { parametersFromOptions, renderModelfile } from "./render.js";
import { parseModelfile, validateModelfile } from "./syntax.js";
import { readTrainingFile } from "../learning/training-store.js";

const fixture = (p: string): string => fileURLToPath(new URL(`./__fixtures__/${p}`, import.meta.url));
const VERIFIED = fileURLToPath(new URL("../learning/__fixtures__/verified.jsonl", import.meta.url));

/** A copy of the fixture workspace with the verified examples recorded in it. */
function workspace(): string {
  const root = tempDir("builder-modelfile-");
  cpSync(fixture("workspace"), root, { recursive: true });
  mkdirSync(path.join(root, ".builder", "training"), { recursive: true });
  cpSync(VERIFIED, path.join(root, ".builder", "training", "verified.jsonl"));
  return root;
}

function expectGolden(actual: string, name: string): void {
  if (process.env.UPDATE_GOLDEN) writeFileSync(fixture(`golden/${name}`), actual);
  expect(actual).toBe(readFileSync(fixture(`golden/${name}`), "utf8"));
}

describe("builder modelfile", () => {
  it("matches the golden Modelfile: FROM, valid PARAMETER names, SYSTEM from the knowledge base, two example pairs", async () => {
    const root = workspace();
    const config = loadConfig({ cwd: root, env: {} });
    const parts = await modelfileFromConfig(config, { fewShot: 2, fewShotTokens: 4000 });
    const { text, changes } = renderModelfile(parts);
    expectGolden(text, "Modelfile");
    expect(changes).toEqual([
      "Unicode spaces became plain spaces",
      "\"\"\" at the end of a line became ''' (it would end the Modelfile value early)",
    ]);
    const validation = validateModelfile(text);
    expect(validation).toMatchObject({ ok: true, errors: [], warnings: [] });
    const commands = parseModelfile(text).commands;
    expect(commands.filter((c) => c.name === "message").map((c) => c.args.split(":")[0])).toEqual([
      "user",
      "assistant",
      "user",
      "assistant",
    ]);
    expect(commands.find((c) => c.name === "system")?.args).toContain(
      "Sum of the line totals, in cents.\n    '''\n    return sum",
    );
    expect(
      commands.filter((c) => !["model", "system", "message"].includes(c.name)).map((c) => [c.name, c.args]),
    ).toEqual([
      ["num_ctx", "8192"],
      ["num_predict", "2048"],
      ["temperature", "0.2"],
      ["num_gpu", "99"],
    ]);
  });

  it("maps gpu_layers to num_gpu and leaves out what Ollama ignores", () => {
    expect(parametersFromOptions({ gpu_layers: 40, use_mlock: true, num_thread: 8 })).toEqual({
      parameters: [
        ["num_gpu", 40],
        ["num_thread", 8],
      ],
      omitted: ["use_mlock is deprecated in Ollama (it ignores it)"],
    });
  });

  it("picks the best verified examples within the token budget, each answer once", async () => {
    const { examples } = await readTrainingFile(VERIFIED, "VERIFIED");
    expect(examples).toHaveLength(4);
    const chosen = bestExamples(examples, 5, 100_000);
    expect(chosen.map((e) => e.run_id)).toEqual(["r1-again", "r2", "r3"]);
    expect(bestExamples(examples, 5, 120).length).toBeLessThan(3);
  });
});

describe("builder modelfile --create against an HTTP server answering Ollama's API", () => {
  let server: OllamaLikeServer;
  let unsupported: OllamaLikeServer;
  beforeAll(async () => {
    server = await startOllamaLikeServer({ models: [{ name: "qwen2.5-coder:7b", size: 1 }] });
    unsupported = await startOllamaLikeServer({ create: "unsupported" });
  });
  afterAll(async () => {
    await server.close();
    await unsupported.close();
  });

  it("sends FROM, SYSTEM, PARAMETERs and MESSAGEs to POST /api/create", async () => {
    const parts = await modelfileFromConfig(loadConfig({ cwd: workspace(), env: {} }), {
      fewShot: 1,
      fewShotTokens: 4000,
    });
    expect(await createOllamaModel(server.url, "billing-coder", parts)).toBe("success");
    const body = server.requests.find((r) => r.path === "/api/create")?.body as Record<string, unknown>;
    expect(body).toMatchObject({
      model: "billing-coder",
      from: "qwen2.5-coder:7b",
      stream: false,
      parameters: { num_ctx: 8192, num_gpu: 99, temperature: 0.2 },
    });
    expect(String(body.system)).toContain("# Billing service");
    expect((body.messages as unknown[]).length).toBe(2);
  });

  it("explains a server without the create API", async () => {
    const parts = { from: "qwen2.5-coder:7b", parameters: [], messages: [], comments: [] };
    await expect(createOllamaModel(unsupported.url, "x", parts)).rejects.toMatchObject({
      code: "BACKEND_ERROR",
      message: expect.stringContaining("does not support creating models") as string,
    });
  });

  it("passes on the server's own error", async () => {
    const failing = await startOllamaLikeServer({ create: "error" });
    try {
      const parts = { from: "qwen2.5-coder:7b", parameters: [], messages: [], comments: [] };
      await expect(createOllamaModel(failing.url, "x", parts)).rejects.toMatchObject({
        code: "BACKEND_ERROR",
        message: expect.stringContaining("HTTP 400") as string,
      });
    } finally {
      await failing.close();
    }
  });

  it("says how to create from a local GGUF, which the API cannot take directly", async () => {
    const parts = { from: "/models/coder.gguf", parameters: [], messages: [], comments: [] };
    await expect(createOllamaModel(server.url, "x", parts)).rejects.toMatchObject({
      code: "USAGE",
      message: expect.stringContaining("ollama create x -f Modelfile") as string,
    });
  });
});
