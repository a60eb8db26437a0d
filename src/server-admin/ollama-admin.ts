import { Ollama, type Message, type ShowRequest } from "ollama";
import { BackendError } from "../errors/errors.js";
import { checkReply, guardedFetch } from "../http-client/http.js";
import { MalformedStreamError } from "../http-client/stream-errors.js";
import {
  OllamaShowSchema,
  OllamaStatusSchema,
  OllamaTagsSchema,
  OllamaVersionSchema,
} from "../http-client/ollama-replies.js";

/** One model Ollama has pulled (`GET /api/tags`). */
export interface OllamaModelSummary {
  name: string;
  sizeBytes: number;
  parameterSize?: string;
  quantization?: string;
  family?: string;
}

/** `POST /api/show`: what Builder reads of it. */
export interface OllamaModelDetails {
  /** Flat GGUF metadata (`llama.block_count`, …). */
  modelInfo: Record<string, unknown>;
  parameters?: string;
  quantization?: string;
}

/** What `builder modelfile --create` sends to `POST /api/create`. */
export interface OllamaCreateRequest {
  model: string;
  from: string;
  system?: string;
  parameters?: Record<string, number | boolean | string | string[]>;
  messages?: Array<{ role: "user" | "assistant" | "system"; content: string }>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Ollama's management API (version, tags, show, create) through the official `ollama` client, with
 * a timeout on every request and every failure turned into a BackendError that says what to do.
 */
export class OllamaAdmin {
  private readonly client: Ollama;

  constructor(
    readonly host: string,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.client = new Ollama({ host, fetch: guardedFetch({ timeoutMs }) });
  }

  /** `GET /api/version`. */
  async version(): Promise<string> {
    const answer = await this.call("GET /api/version", async () =>
      checkReply(OllamaVersionSchema, await this.client.version()),
    );
    return answer.version;
  }

  /** `GET /api/tags`: the models this server has. */
  async listModels(): Promise<OllamaModelSummary[]> {
    const answer = await this.call("GET /api/tags", async () => checkReply(OllamaTagsSchema, await this.client.list()));
    return answer.models.map((model) => ({
      name: model.name ?? model.model ?? "",
      sizeBytes: Number(model.size ?? 0),
      parameterSize: model.details?.parameter_size || undefined,
      quantization: model.details?.quantization_level || undefined,
      family: model.details?.family || undefined,
    }));
  }

  /**
   * `POST /api/show`: the model's metadata. Ollama blanks every array longer than 5 entries unless
   * asked for `verbose`, and hybrid models (Granite 4, LFM2, …) give their KV heads per layer in such
   * an array; only then is it asked again verbosely (that answer carries the whole vocabulary).
   */
  async show(model: string): Promise<OllamaModelDetails> {
    const brief = await this.showOnce(model, false);
    return hasBlankedHeadCounts(brief.modelInfo) ? this.showOnce(model, true) : brief;
  }

  private async showOnce(model: string, verbose: boolean): Promise<OllamaModelDetails> {
    // The client's ShowRequest type lacks Ollama's documented `verbose`; it sends the object as it is.
    const request: ShowRequest & { verbose: boolean } = { model, verbose };
    const answer = await this.call(`POST /api/show (${model})`, async () => {
      const raw = await this.client.show(request);
      const info = raw.model_info as unknown;
      return checkReply(OllamaShowSchema, info instanceof Map ? { ...raw, model_info: Object.fromEntries(info) } : raw);
    });
    return {
      modelInfo: answer.model_info ?? {},
      parameters: answer.parameters || undefined,
      quantization: answer.details?.quantization_level || undefined,
    };
  }

  /** `POST /api/create` (not streamed); returns the final status Ollama answered. */
  async create(request: OllamaCreateRequest): Promise<string> {
    const messages: Message[] | undefined = request.messages?.map((m) => ({ role: m.role, content: m.content }));
    const { model, from, system, parameters } = request;
    const answer = await this.call(`POST /api/create (${model})`, async () =>
      checkReply(
        OllamaStatusSchema,
        await this.client.create({ model, from, system, parameters, messages, stream: false }),
      ),
    );
    return answer.status;
  }

  private async call<T>(what: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toBackendError(error, what, this.host, this.timeoutMs);
    }
  }
}

/** True when the attention head counts, which the KV cache estimate needs, came back as blanked arrays. */
function hasBlankedHeadCounts(modelInfo: Record<string, unknown>): boolean {
  return Object.entries(modelInfo).some(
    ([key, value]) => /\.attention\.head_count(_kv)?$/.test(key) && Array.isArray(value) && value.length === 0,
  );
}

/**
 * True when `name` is among the tags, treating a missing tag as `:latest`. Ollama resolves model
 * names case-insensitively (`Qwen2.5-Coder:7B` runs `qwen2.5-coder:7b`), so the match does too.
 */
export function hasOllamaModel(models: readonly OllamaModelSummary[], name: string): boolean {
  const wanted = normalModelName(name);
  return models.some((model) => normalModelName(model.name) === wanted);
}

function normalModelName(name: string): string {
  const lastSegment = name.split("/").pop() ?? name;
  return (lastSegment.includes(":") ? name : `${name}:latest`).toLowerCase();
}

function toBackendError(error: unknown, what: string, host: string, timeoutMs: number): BackendError {
  const err = error as Error & { status_code?: number; cause?: unknown };
  if (typeof err.status_code === "number") {
    return new BackendError(
      "BACKEND_ERROR",
      `Ollama at ${host} answered ${what} with HTTP ${err.status_code}: ${err.message}`,
      {
        endpoint: host,
        status: err.status_code,
        // The server's own reason, for callers that rephrase the error (modelfile --create).
        serverError: err.message,
        extra: { request: what },
      },
    );
  }
  if (error instanceof MalformedStreamError) {
    return new BackendError(
      "BACKEND_ERROR",
      `Ollama at ${host} answered ${what} with a reply that is not Ollama's API (${error.line.slice(0, 120)}). Is the host an Ollama server?`,
      { endpoint: host, extra: { request: what } },
    );
  }
  if (err.name === "TimeoutError" || err.name === "AbortError") {
    return new BackendError(
      "BACKEND_TIMEOUT",
      `Ollama at ${host} did not answer ${what} within ${timeoutMs} ms. Is the server overloaded or the host wrong?`,
      { endpoint: host, extra: { request: what } },
    );
  }
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
  return new BackendError(
    "BACKEND_UNAVAILABLE",
    `Ollama is not reachable at ${host} (${err.message}${cause}). Start it with \`ollama serve\`, or set "ollama.host" in builder.config.json / OLLAMA_HOST.`,
    { endpoint: host, extra: { request: what } },
    { cause: error },
  );
}
