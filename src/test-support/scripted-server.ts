import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A request the scripted server received. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  body: unknown;
}

/** A real HTTP server on 127.0.0.1 whose answers a test scripts, for failure paths a real model server cannot be made to take on demand. */
export interface ScriptedServer {
  url: string;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

/** Starts a scripted server (on `port`, default any free one); `handle` gets each request with its parsed JSON body. */
export async function scriptedServer(
  handle: (request: ReceivedRequest, response: ServerResponse) => void | Promise<void>,
  port = 0,
): Promise<ScriptedServer> {
  const requests: ReceivedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // keep the text
      }
      const received = {
        method: req.method ?? "GET",
        path: new URL(req.url ?? "/", "http://x").pathname,
        headers: req.headers,
        body,
      };
      requests.push(received);
      void handle(received, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A free loopback port with nothing listening on it (for "connection refused"). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Answers Ollama's `/api/show` for a model with a `num_ctx` parameter. */
export function ollamaShow(response: ServerResponse, numCtx = 2048): void {
  response.writeHead(200, { "content-type": "application/json" });
  response.end(
    JSON.stringify({
      parameters: `num_ctx ${numCtx}`,
      details: {
        family: "llama",
        parameter_size: "1B",
        quantization_level: "Q4_K_M",
        format: "gguf",
        families: ["llama"],
        parent_model: "",
      },
      model_info: { "llama.context_length": 4096 },
      capabilities: ["completion"],
    }),
  );
}

/** Answers an OpenAI-compatible `/v1/models` with one model (its window as `max_model_len`, as llama.cpp's server does). */
export function openaiModels(response: ServerResponse, id = "coder", maxModelLen = 16384): void {
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ data: [{ id, max_model_len: maxModelLen }] }));
}

/** One NDJSON chat piece as Ollama streams it. */
export function ollamaPiece(content: string): string {
  return (
    JSON.stringify({
      model: "m",
      created_at: new Date().toISOString(),
      message: { role: "assistant", content },
      done: false,
    }) + "\n"
  );
}

/** Ollama's final chat line with its counters. */
export function ollamaDone(doneReason = "stop"): string {
  return (
    JSON.stringify({
      model: "m",
      created_at: new Date().toISOString(),
      message: { role: "assistant", content: "" },
      done: true,
      done_reason: doneReason,
      total_duration: 5_000_000,
      load_duration: 1_000_000,
      prompt_eval_count: 300,
      prompt_eval_duration: 2_000_000,
      eval_count: 20,
      eval_duration: 10_000_000,
    }) + "\n"
  );
}
