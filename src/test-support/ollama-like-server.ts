import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** A model the server pretends to have. */
export interface ServedModel {
  name: string;
  size: number;
  parameterSize?: string;
  quantization?: string;
  family?: string;
  /** Flat GGUF metadata returned by /api/show. */
  modelInfo?: Record<string, unknown>;
}

/** How the server answers POST /api/create. */
export type CreateBehaviour = "accept" | "error" | "unsupported";

/** Options for {@link startOllamaLikeServer}. */
export interface OllamaLikeOptions {
  version?: string;
  models?: ServedModel[];
  create?: CreateBehaviour;
}

/** A running server and what it received. */
export interface OllamaLikeServer {
  url: string;
  /** Every request: method, path and parsed JSON body. */
  requests: Array<{ method: string; path: string; body: unknown }>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 answering the parts of Ollama's documented API Builder's
 * operations use (GET /api/version, GET /api/tags, POST /api/show, POST /api/create, GET /v1/models),
 * in the shapes of ollama's docs/api.md.
 */
export async function startOllamaLikeServer(options: OllamaLikeOptions = {}): Promise<OllamaLikeServer> {
  const models = options.models ?? [];
  const requests: OllamaLikeServer["requests"] = [];
  const server: Server = createServer((req, res) => {
    void readBody(req).then((body) => {
      const path = (req.url ?? "/").split("?")[0];
      requests.push({ method: req.method ?? "GET", path, body });
      route(req.method ?? "GET", path, body, res, models, options);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function route(
  method: string,
  path: string,
  body: unknown,
  res: ServerResponse,
  models: ServedModel[],
  options: OllamaLikeOptions,
): void {
  const request = (body ?? {}) as Record<string, unknown>;
  if (method === "GET" && path === "/api/version") return json(res, 200, { version: options.version ?? "0.6.8" });
  if (method === "GET" && path === "/api/tags") {
    return json(res, 200, {
      models: models.map((m) => ({
        name: m.name,
        model: m.name,
        modified_at: "2025-01-01T00:00:00Z",
        size: m.size,
        digest: "0".repeat(64),
        details: {
          parent_model: "",
          format: "gguf",
          family: m.family ?? "llama",
          families: null,
          parameter_size: m.parameterSize ?? "",
          quantization_level: m.quantization ?? "",
        },
      })),
    });
  }
  if (method === "POST" && path === "/api/show") {
    const name = String(request.model ?? request.name ?? "");
    const model = models.find((m) => m.name === name || m.name === `${name}:latest`);
    if (!model) return json(res, 404, { error: `model '${name}' not found` });
    return json(res, 200, {
      modelfile: `FROM ${model.name}`,
      parameters: "",
      template: "{{ .Prompt }}",
      details: {
        parent_model: "",
        format: "gguf",
        family: model.family ?? "llama",
        families: [model.family ?? "llama"],
        parameter_size: model.parameterSize ?? "",
        quantization_level: model.quantization ?? "",
      },
      model_info: model.modelInfo ?? {},
    });
  }
  if (method === "POST" && path === "/api/create") {
    const behaviour = options.create ?? "accept";
    if (behaviour === "unsupported") {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("404 page not found");
      return;
    }
    if (behaviour === "error") return json(res, 400, { error: "neither 'from' or 'files' was specified" });
    if (!request.model || !request.from) return json(res, 400, { error: "neither 'from' or 'files' was specified" });
    models.push({
      name: String(request.model).includes(":") ? String(request.model) : `${String(request.model)}:latest`,
      size: 1,
    });
    return json(res, 200, { status: "success" });
  }
  if (method === "GET" && path === "/v1/models") {
    return json(res, 200, {
      object: "list",
      data: models.map((m) => ({ id: m.name, object: "model", created: 1_700_000_000, owned_by: "library" })),
    });
  }
  res.writeHead(404, { "content-type": "text/plain" });
  res.end("404 page not found");
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
