import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalRowSchema } from "../../eval/results.js";
import { runCli } from "../../test-support/cli.js";
import { synthesizeTestModel, tempDir } from "../../test-support/fixtures.js";
import { closedPort } from "../../test-support/scripted-server.js";
import { startServe, type ServeProcess } from "../../test-support/serve.js";

let serve: ServeProcess;
let home: string;

beforeAll(async () => {
  serve = await startServe(await synthesizeTestModel(), [
    "--name",
    "tiny:test",
    "--num-ctx",
    "4096",
    "--parallel",
    "2",
  ]);
  home = tempDir("builder-home-");
});

afterAll(async () => {
  await serve?.stop();
});

describe("builder eval over an endpoint pool", () => {
  it("runs the cases concurrently over the pool, moving off a server that refuses connections", async () => {
    const refused = `http://127.0.0.1:${await closedPort()}`;
    const out = path.join(tempDir("builder-eval-out-"), "pool.jsonl");
    const result = await runCli(
      [
        "eval",
        "--suite",
        "builtin",
        "--limit",
        "2",
        "--concurrency",
        "2",
        "--no-verify",
        "--backend",
        "ollama",
        "--host",
        `${refused},${serve.url}`,
        "--model",
        "tiny:test",
        "--num-ctx",
        "4096",
        "--num-predict",
        "1024",
        "--out",
        out,
        "--json",
      ],
      { cwd: tempDir("builder-eval-cwd-"), env: { HOME: home, XDG_CACHE_HOME: home }, timeoutMs: 300_000 },
    );
    expect(result.code, result.stderr.slice(-3000)).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`endpoint ${refused.replace(/[.]/g, "\\.")} is down`));
    const rows = readFileSync(out, "utf8")
      .trim()
      .split("\n")
      .map((line) => EvalRowSchema.parse(JSON.parse(line)));
    expect(rows.map((r) => r.case_id).sort()).toEqual(["add-chunk", "add-clamp"]);
    for (const row of rows) {
      expect(row).toMatchObject({ backend: "ollama", model: "tiny:test", well_formed: true });
      expect(row.prompt_tokens).toBeGreaterThan(0);
    }
  }, 300_000);
});
