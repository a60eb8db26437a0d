import type { BuilderConfig } from "../../config/load.js";
import { BackendError, ModelError, type BuilderError } from "../../errors/errors.js";
import { getLogger } from "../../telemetry/logger.js";
import type { BackendInfo, GenerateRequest, GenerateResult } from "../types.js";
import { DEFAULT_NUM_CTX } from "../../context-window/policy.js";
import { ensurePromptFits } from "../remote/context-fit.js";
import { estimatePromptTokens } from "../remote/estimate-tokens.js";
import { RemoteBackend } from "../remote/remote-backend.js";
import { MalformedStreamError, TruncatedStreamError, transportFailure } from "../remote/failures.js";
import { retryRefused } from "../remote/network.js";
import { StreamWatchdog } from "../remote/stream-watchdog.js";
import { explainHttpError, OpenAIHttpError, readHttpError } from "./openai-errors.js";
import { readSseData } from "./sse.js";

/** Options for {@link OpenAIBackend}. */
export interface OpenAIBackendOptions {
  /** The server's base URL; default: the first of `config.openai.baseUrls`. */
  baseUrl?: string;
  /** Extra attempts when the connection is refused; an endpoint pool passes 0 and fails over instead. */
  connectRetries?: number;
}

/** One streamed chunk of `/v1/chat/completions`, as far as Builder reads it. */
interface CompletionChunk {
  choices?: Array<{ delta?: { content?: string | null }; finish_reason?: string | null }>;
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  /** llama.cpp's server adds its own timings. */
  timings?: { prompt_n?: number; prompt_ms?: number; predicted_n?: number; predicted_ms?: number };
  error?: string | { message?: string };
}

/**
 * A model behind an OpenAI-compatible server (llama.cpp's server, vLLM, LM Studio, `builder serve`):
 * `/v1/chat/completions`, streamed, with the answer's JSON schema as `response_format`.
 */
export class OpenAIBackend extends RemoteBackend {
  readonly baseUrl: string;

  constructor(
    private readonly config: BuilderConfig,
    options: OpenAIBackendOptions = {},
  ) {
    super(options.connectRetries ?? 2);
    this.baseUrl = (options.baseUrl ?? config.openai.baseUrl).replace(/\/+$/, "");
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const info = await this.prepare();
    const estimate = estimatePromptTokens(request.messages);
    ensurePromptFits(estimate, request.sampling.maxTokens, info.contextSize);
    const { sampling } = request;
    const body: Record<string, unknown> = {
      model: info.model,
      messages: request.messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: sampling.maxTokens,
      temperature: sampling.temperature,
      top_p: sampling.topP,
      seed: sampling.seed,
      response_format: { type: "json_schema", json_schema: { name: "builder_answer", schema: request.schema, strict: true } },
    };
    // Not in OpenAI's API; llama.cpp's server and vLLM read them. Sent only when configured.
    if (sampling.topK !== undefined) body.top_k = sampling.topK;
    if (sampling.repeatPenalty !== undefined) body.repeat_penalty = sampling.repeatPenalty;

    const watchdog = new StreamWatchdog(this.config.openai.timeouts, request.signal);
    const started = performance.now();
    let firstTokenAt: number | undefined;
    let lastTokenAt: number | undefined;
    let text = "";
    let pieces = 0;
    let finishReason: string | undefined;
    let usage: CompletionChunk["usage"];
    let timings: CompletionChunk["timings"];
    watchdog.start("load");
    try {
      const response = await retryRefused(() => this.post("/chat/completions", body, watchdog.signal), {
        retries: this.connectRetries,
        signal: watchdog.signal,
        onRetry: (attempt, delay) => this.logRetry(attempt, delay),
      });
      if (!response.body) throw new TruncatedStreamError();
      let sawDone = false;
      for await (const data of readSseData(response.body)) {
        if (data.trim() === "[DONE]") {
          sawDone = true;
          break;
        }
        const chunk = parseChunk(data);
        if (chunk.error !== undefined) throw new StreamReportedError(typeof chunk.error === "string" ? chunk.error : (chunk.error.message ?? JSON.stringify(chunk.error)));
        const choice = chunk.choices?.[0];
        const piece = choice?.delta?.content ?? "";
        if (piece) {
          watchdog.progress();
          firstTokenAt ??= performance.now();
          lastTokenAt = performance.now();
          text += piece;
          pieces++;
          request.onTextChunk?.(piece);
        }
        if (choice?.finish_reason) {
          watchdog.progress();
          finishReason = choice.finish_reason;
        }
        if (chunk.usage) usage = chunk.usage;
        if (chunk.timings) timings = chunk.timings;
      }
      if (!finishReason && !sawDone) throw new TruncatedStreamError();
    } catch (error) {
      if (watchdog.cancelled && !watchdog.timedOut) {
        return { text, stopReason: "abort", metrics: { promptTokens: estimate, generatedTokens: 0, generationMs: 0 } };
      }
      throw this.failure(error, info.model, watchdog, text.length);
    } finally {
      watchdog.stop();
    }
    return {
      text,
      stopReason: finishReason === "length" ? "length" : "stop",
      metrics: {
        promptTokens: usage?.prompt_tokens ?? timings?.prompt_n ?? estimate,
        promptMs: timings?.prompt_ms,
        timeToFirstTokenMs: firstTokenAt !== undefined ? firstTokenAt - started : undefined,
        generatedTokens: usage?.completion_tokens ?? timings?.predicted_n ?? pieces,
        generationMs: timings?.predicted_ms ?? (firstTokenAt !== undefined && lastTokenAt !== undefined ? lastTokenAt - firstTokenAt : 0),
      },
    };
  }

  private get serverName(): string {
    return `the OpenAI-compatible server at ${this.baseUrl}`;
  }

  /** `{base}/v1/…`, whether or not the configured base URL already ends in /v1. */
  private url(path: string): string {
    return /\/v1$/.test(this.baseUrl) ? `${this.baseUrl}${path}` : `${this.baseUrl}/v1${path}`;
  }

  private headers(): Record<string, string> {
    const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json, text/event-stream" };
    const key = process.env[this.config.openai.apiKeyEnv];
    if (key) headers.authorization = `Bearer ${key}`;
    return headers;
  }

  private async post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const response = await fetch(this.url(path), { method: "POST", headers: this.headers(), body: JSON.stringify(body), signal });
    if (!response.ok) throw await readHttpError(response);
    return response;
  }

  /** Checks that the server answers and has the model, and reads what it tells about it. */
  protected async connect(): Promise<BackendInfo> {
    const watchdog = new StreamWatchdog(this.config.openai.timeouts);
    watchdog.start("connect");
    let models: Array<{ id: string; max_model_len?: number }> | undefined;
    try {
      const response = await retryRefused(() => fetch(this.url("/models"), { headers: this.headers(), signal: watchdog.signal }), {
        retries: this.connectRetries,
        signal: watchdog.signal,
        onRetry: (attempt, delay) => this.logRetry(attempt, delay),
      });
      if (response.ok) {
        const body = (await response.json()) as { data?: Array<{ id: string; max_model_len?: number }> };
        models = Array.isArray(body.data) ? body.data : undefined;
      } else if (response.status !== 404) {
        // Some servers have no /models; anything else (a bad key, a failing server) is worth stopping for.
        throw await readHttpError(response);
      }
    } catch (error) {
      throw this.failure(error, this.config.model ?? "", watchdog, 0);
    } finally {
      watchdog.stop();
    }
    const model = this.chooseModel(models);
    const served = models?.find((m) => m.id === model);
    if (models && !served) getLogger().warn({ endpoint: this.baseUrl, model, served: models.map((m) => m.id) }, `${this.serverName} does not list model "${model}"; trying it anyway`);
    const contextSize = this.config.options.num_ctx ?? served?.max_model_len ?? DEFAULT_NUM_CTX;
    return { backend: "openai", model, contextSize, device: this.serverName, loadMs: 0 };
  }

  private chooseModel(models: Array<{ id: string }> | undefined): string {
    if (this.config.model) return this.config.model;
    if (models?.length === 1) return models[0].id;
    const listed = models && models.length > 0 ? ` It serves: ${models.map((m) => m.id).join(", ")}.` : "";
    throw new ModelError("MODEL_NOT_CONFIGURED", `No model is configured for ${this.serverName}. Pass --model <name> or set "model" in builder.config.json.${listed}`);
  }

  private failure(error: unknown, model: string, watchdog: StreamWatchdog, receivedChars: number): BuilderError {
    const transport = transportFailure(error, {
      server: this.serverName,
      endpoint: this.baseUrl,
      section: "openai",
      startHint: "Start the server, or point Builder at it with --host, OPENAI_BASE_URL or openai.base_url in builder.config.json.",
      watchdog,
      receivedChars,
    });
    if (transport) return transport;
    if (error instanceof OpenAIHttpError) {
      return explainHttpError(error, { server: this.serverName, endpoint: this.baseUrl, model, apiKeyEnv: this.config.openai.apiKeyEnv, apiKeySet: Boolean(process.env[this.config.openai.apiKeyEnv]) });
    }
    const message = error instanceof Error ? error.message : String(error);
    return new BackendError(
      "BACKEND_ERROR",
      `${this.serverName} reported an error while generating${receivedChars > 0 ? ` (after ${receivedChars} characters; the incomplete answer was discarded)` : ""}: ${message}. Check the server's log.`,
      { endpoint: this.baseUrl, received_chars: receivedChars, endpoint_down: false },
      { cause: error },
    );
  }

  private logRetry(attempt: number, delayMs: number): void {
    getLogger().warn({ endpoint: this.baseUrl, attempt, delay_ms: delayMs }, `${this.serverName} refused the connection; retrying`);
  }
}

/** An error the server reported inside the stream. */
class StreamReportedError extends Error {}

function parseChunk(data: string): CompletionChunk {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    throw new MalformedStreamError(data);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new MalformedStreamError(data);
  return value as CompletionChunk;
}
