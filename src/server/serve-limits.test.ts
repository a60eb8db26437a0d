import { request } from "node:http";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/load.js";
import { synthesizeTestModel, tempDir } from "../test-support/fixtures.js";
import { parseKeepAlive } from "../format/keep-alive.js";
import { refuseByCountInSlices } from "./prompt-size.js";
import type { HostedModel } from "./model-host.js";
import { startServer, type RunningServer } from "./server.js";

/** One vocabulary piece of this many bytes: the cheap size bound then lets big prompts through to the tokenizer. */
const LONG_PIECE_BYTES = 100_000;

let server: RunningServer;
let url: string;

beforeAll(async () => {
  const dir = tempDir();
  const model = await synthesizeTestModel({ extraPieces: ["q".repeat(LONG_PIECE_BYTES)] });
  const config = loadConfig({
    cwd: dir,
    env: { HOME: dir },
    overrides: { model, options: { num_thread: 1, num_ctx: 512 } },
  });
  server = await startServer({ config, port: 0 });
  url = `http://127.0.0.1:${server.port}`;
});

const servedName = (): string => server.served?.name ?? "";

afterAll(async () => {
  await server?.close();
});

/** POSTs a (large) JSON body on a connection of its own, so that no reused keep-alive socket is in play. */
function postJson(path: string, body: unknown): Promise<{ status: number; json: { error: string } }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      {
        method: "POST",
        agent: false,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload) },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { error: string } }));
      },
    );
    req.on("error", reject);
    req.end(payload);
  });
}

describe("keep_alive beyond any date", () => {
  it("is clamped to forever, so /api/ps keeps answering (via the ollama client)", async () => {
    expect(parseKeepAlive(1e300)).toBe(Infinity);
    expect(parseKeepAlive("9999999999h")).toBe(Infinity);
    expect(parseKeepAlive("5m")).toBe(300_000);
    const ollama = new Ollama({ host: url });
    const loaded = await ollama.generate({ model: servedName(), prompt: "", keep_alive: 1e300 });
    expect(loaded.done).toBe(true);
    const running = await ollama.ps();
    expect(new Date(running.models[0].expires_at).getUTCFullYear()).toBe(2318);
  });
});

describe("huge prompts", () => {
  it("are refused by their size before tokenizing when bytes ÷ the longest token exceed the window", async () => {
    // 25 MB ÷ 100,000 bytes = at least 250 tokens, more than the 99 a num_ctx of 100 leaves for the prompt.
    const prompt = "word ".repeat(5_000_000);
    const response = await postJson("/api/generate", {
      model: servedName(),
      prompt,
      stream: false,
      options: { num_ctx: 100 },
    });
    expect(response.status).toBe(400);
    const { error } = response.json;
    expect(error).toMatch(
      /\(25000000 bytes\) does not fit: it needs at least 250 tokens .*100000, the longest token.*refused by its size before tokenizing/,
    );
  });

  it("that pass the size bound are counted in slices and refused as soon as the count is past the window", async () => {
    // 20 MB ÷ 100,000 bytes = 200 tokens at least: the cheap bound lets it through to the tokenizer.
    const prompt = "ab cd ".repeat(3_300_000);
    const response = await postJson("/api/chat", {
      model: servedName(),
      messages: [{ role: "user", content: prompt }],
      stream: false,
    });
    expect(response.status).toBe(400);
    expect(response.json.error).toMatch(
      /does not fit: it needs more than \d+ tokens \(counted in slices and stopped there\).*not truncated/,
    );
  });

  it("are tokenized in slices that let the server answer in between: /api/version answers while one is counted", async () => {
    const lease = await server.modelHost.lease(server.served as HostedModel, {});
    try {
      let counted = false;
      // 12 MB that would fit a window this large: every slice is tokenized, with a yield between slices.
      const counting = refuseByCountInSlices(
        lease.engine.model,
        [{ role: "user", content: "ab cd ".repeat(2_000_000) }],
        1e9,
        "test",
      ).then(() => (counted = true));
      const version = await fetch(`${url}/api/version`);
      expect(version.status).toBe(200);
      expect(counted, "/api/version answered while the prompt was still being counted").toBe(false);
      await counting;
    } finally {
      lease.release();
    }
  });
});
