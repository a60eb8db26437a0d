import { request } from "node:http";
import { Ollama } from "ollama";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { synthesizeTestModel } from "../test-support/fixtures.js";
import { startServe, type ServeProcess } from "../test-support/serve.js";

let serve: ServeProcess;

beforeAll(async () => {
  const modelPath = await synthesizeTestModel();
  serve = await startServe(
    modelPath,
    ["--name", "tiny:test", "--allow-origin", "https://flag.example", "--keep-alive", "9999999999h"],
    { BUILDER_ORIGINS: "https://env.example, https://*.wild.example" },
  );
});

afterAll(async () => {
  await serve?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, so that Host and Origin can be set as a hostile page or a rebound DNS name would. */
function send(method: string, path: string, headers: Record<string, string>): Promise<Answer> {
  const url = new URL(serve.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("builder serve answers only this machine and allowed web origins", () => {
  it("refuses a foreign Host header (DNS rebinding) with 403 and Ollama's error body", async () => {
    const refused = await send("GET", "/api/version", { host: "attacker.example:11435" });
    expect(refused.status).toBe(403);
    expect((JSON.parse(refused.body) as { error: string }).error).toMatch(/host "attacker\.example" is not allowed/);
    for (const host of ["localhost:11435", "127.0.0.1", "127.1.2.3:80", "[::1]:11435", "app.localhost"]) {
      expect((await send("GET", "/api/version", { host })).status, host).toBe(200);
    }
  });

  it("refuses a foreign Origin with 403, and serves loopback, app and configured origins with CORS headers", async () => {
    const refused = await send("POST", "/api/generate", { host: "127.0.0.1", origin: "https://evil.example" });
    expect(refused.status).toBe(403);
    expect((JSON.parse(refused.body) as { error: string }).error).toMatch(
      /origin "https:\/\/evil\.example" is not allowed.*--allow-origin/,
    );
    expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
    for (const origin of [
      "http://localhost:3000",
      "https://127.0.0.1",
      "http://0.0.0.0:8080",
      "vscode-webview://abc",
      "https://flag.example",
      "https://env.example",
      "https://x.wild.example",
    ]) {
      const answer = await send("GET", "/api/version", { host: "127.0.0.1", origin });
      expect(answer.status, origin).toBe(200);
      expect(answer.headers["access-control-allow-origin"], origin).toBe(origin);
    }
    expect(
      (await send("GET", "/api/version", { host: "127.0.0.1", origin: "http://localhost.evil.example" })).status,
    ).toBe(403);
  });

  it("answers a CORS preflight for an allowed origin with the Allow headers, and refuses it for a foreign one", async () => {
    const preflight = await send("OPTIONS", "/api/chat", {
      host: "localhost",
      origin: "http://localhost:5173",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type",
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers["access-control-allow-origin"]).toBe("http://localhost:5173");
    expect(preflight.headers["access-control-allow-methods"]).toMatch(/POST/);
    expect(String(preflight.headers["access-control-allow-headers"])).toMatch(/Content-Type/i);
    const foreign = await send("OPTIONS", "/api/chat", {
      host: "localhost",
      origin: "https://evil.example",
      "access-control-request-method": "POST",
    });
    expect(foreign.status).toBe(403);
  });
});

describe("builder serve clamps a huge keep-alive to forever", () => {
  it("--keep-alive 9999999999h: /api/ps answers with the far-future expiry instead of 500", async () => {
    const running = await new Ollama({ host: serve.url }).ps();
    expect(running.models).toHaveLength(1);
    expect(new Date(running.models[0].expires_at).getUTCFullYear()).toBe(2318);
  });
});
