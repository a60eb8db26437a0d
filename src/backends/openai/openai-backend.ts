import { ModelError, type BuilderError } from "../../errors/errors.js";
import { getLogger } from "../../telemetry/logger.js";
import { describeBackend } from "../descriptors.js";
import type { BackendInfo, GenerateRequest, GenerateResult, BackendConfig } from "../types.js";
import { DEFAULT_NUM_CTX } from "../../window-size/policy.js";
import { ensurePromptFits } from "../http-common/context-fit.js";
import { estimatePromptTokens } from "../http-common/estimate-tokens.js";
import { RemoteBackend } from "../http-common/remote-backend.js";
import { generationFailure, transportFailure } from "../http-common/failures.js";
import { parseReply, retryRefused } from "../../http-client/http.js";
import {
  ChatCompletionChunkSchema,
  ModelListSchema,
  type ChatCompletionChunk,
  type ModelList,
} from "../../http-client/openai-replies.js";
import { TruncatedStreamError } from "../../http-client/stream-errors.js";
import { StreamWatchdog } from "../http-common/stream-watchdog.js";
import { explainHttpError, OpenAIHttpError, readHttpError } from "./openai-errors.js";
import { contextInfo, readServerContext } from "./server-context.js";
import { readSseData } from "./sse.js";

/** Options for {@link OpenAIBackend}. */
export interface OpenAIBackendOptions {
  /** The server's base URL; default: the first of `config.openai.baseUrls`. */
  baseUrl?: string;
  /** Extra attempts when the connection is refused; an endpoint pool passes 0 and fails over instead. */
  connectRetries?: number;
}

/** What the stream told, read as it arrives. */
interface StreamState {
  text: string;
  pieces: number;
  firstTokenAt?: number;
  lastTokenAt?: number;
  finishReason?: string;
  usage?: ChatCompletionChunk["usage"];
  timings?: ChatCompletionChunk["timings"];
}

/**
 * A model behind an OpenAI-compatible server (llama.cpp's server, vLLM, LM Studio, `builder serve`):
 * `/v1/chat/completions`, streamed, with the answer's JSON schema as `response_format`.
 */
export class OpenAIBackend extends RemoteBackend {
  readonly baseUrl: string;

  constructor(
    private readonly config: BackendConfig,
    options: OpenAIBackendOptions = {},
  ) {
    super(options.connectRetries ?? 2);
    this.baseUrl = (options.baseUrl ?? config.openai.baseUrl).replace(/\/+$/, "");
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const info = await this.prepare();
    const estimate = estimatePromptTokens(request.messages);
    ensurePromptFits(estimate, request.sampling.maxTokens, info.contextSize);
    const body = chatRequestBody(info.model, request);
    const watchdog = new StreamWatchdog(this.config.openai.timeouts, request.signal);
    const started = performance.now();
    const state: StreamState = { text: "", pieces: 0 };
    watchdog.start("load");
    try {
      const response = await retryRefused(() => this.post("/chat/completions", body, watchdog.signal), {
        retries: this.connectRetries,
        signal: watchdog.signal,
        onRetry: (attempt, delay) => this.logRetry(attempt, delay),
      });
      await readChatStream(response, state, watchdog, request.onTextChunk);
    } catch (error) {
      if (watchdog.cancelled && !watchdog.timedOut) {
        return {
          text: state.text,
          stopReason: "abort",
          metrics: { promptTokens: estimate, generatedTokens: 0, generationMs: 0 },
        };
      }
      throw this.failure(error, info.model, watchdog, state.text.length);
    } finally {
      watchdog.stop();
    }
    const { usage, timings, firstTokenAt, lastTokenAt } = state;
    return {
      text: state.text,
      stopReason: state.finishReason === "length" ? "length" : "stop",
      metrics: {
        promptTokens: usage?.prompt_tokens ?? timings?.prompt_n ?? estimate,
        promptMs: timings?.prompt_ms,
        timeToFirstTokenMs: firstTokenAt !== undefined ? firstTokenAt - started : undefined,
        generatedTokens: usage?.completion_tokens ?? timings?.predicted_n ?? state.pieces,
        generationMs:
          timings?.predicted_ms ??
          (firstTokenAt !== undefined && lastTokenAt !== undefined ? lastTokenAt - firstTokenAt : 0),
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
    const headers: Record<string, string> = {
      "content-type": "application/json",
      accept: "application/json, text/event-stream",
    };
    const key = process.env[this.config.openai.apiKeyEnv];
    if (key) headers.authorization = `Bearer ${key}`;
    return headers;
  }

  private async post(path: string, body: unknown, signal: AbortSignal): Promise<Response> {
    const response = await fetch(this.url(path), {
      method: "POST",
      headers: this.headers(),
      body: JSON.stringify(body),
      signal,
    });
    if (!response.ok) throw await readHttpError(response);
    return response;
  }

  /** Checks that the server answers and has the model, and reads what it tells about it. */
  protected async connect(): Promise<BackendInfo> {
    const watchdog = new StreamWatchdog(this.config.openai.timeouts);
    watchdog.start("connect");
    let models: ModelList["data"] | undefined;
    try {
      const response = await retryRefused(
        () => fetch(this.url("/models"), { headers: this.headers(), signal: watchdog.signal }),
        {
          retries: this.connectRetries,
          signal: watchdog.signal,
          onRetry: (attempt, delay) => this.logRetry(attempt, delay),
        },
      );
      if (response.ok) {
        models = parseReply(ModelListSchema, await response.text()).data;
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
    if (models && !served)
      getLogger().warn(
        { endpoint: this.baseUrl, model, served: models.map((m) => m.id) },
        `${this.serverName} does not list model "${model}"; trying it anyway`,
      );
    const serverContext = await readServerContext(this.baseUrl.replace(/\/v1$/, ""), served, {
      headers: this.headers(),
      signal: AbortSignal.timeout(this.config.openai.timeouts.connectMs),
    });
    const context = contextInfo(serverContext, this.config.options.num_ctx, DEFAULT_NUM_CTX);
    return {
      backend: "openai",
      capabilities: describeBackend("openai").capabilities,
      model,
      ...context,
      device: this.serverName,
      loadMs: 0,
    };
  }

  private chooseModel(models: Array<{ id: string }> | undefined): string {
    if (this.config.model) return this.config.model;
    if (models?.length === 1) return models[0].id;
    const listed = models && models.length > 0 ? ` It serves: ${models.map((m) => m.id).join(", ")}.` : "";
    throw new ModelError(
      "MODEL_NOT_CONFIGURED",
      `No model is configured for ${this.serverName}. Pass --model <name> or set "model" in builder.config.json.${listed}`,
    );
  }

  private failure(error: unknown, model: string, watchdog: StreamWatchdog, receivedChars: number): BuilderError {
    const transport = transportFailure(error, {
      server: this.serverName,
      endpoint: this.baseUrl,
      section: "openai",
      startHint:
        "Start the server, or point Builder at it with --host, OPENAI_BASE_URL or openai.base_url in builder.config.json.",
      watchdog,
      receivedChars,
    });
    if (transport) return transport;
    if (error instanceof OpenAIHttpError) {
      return explainHttpError(error, {
        server: this.serverName,
        endpoint: this.baseUrl,
        model,
        apiKeyEnv: this.config.openai.apiKeyEnv,
        apiKeySet: Boolean(process.env[this.config.openai.apiKeyEnv]),
      });
    }
    return generationFailure(this.serverName, this.baseUrl, error, receivedChars);
  }

  private logRetry(attempt: number, delayMs: number): void {
    getLogger().warn(
      { endpoint: this.baseUrl, attempt, delay_ms: delayMs },
      `${this.serverName} refused the connection; retrying`,
    );
  }
}

/** An error the server reported inside the stream. */
class StreamReportedError extends Error {}

/** The `/v1/chat/completions` body: streamed, with usage, and the answer's JSON schema as `response_format`. */
function chatRequestBody(model: string, request: GenerateRequest): Record<string, unknown> {
  const { sampling } = request;
  const body: Record<string, unknown> = {
    model,
    messages: request.messages,
    stream: true,
    stream_options: { include_usage: true },
    max_tokens: sampling.maxTokens,
    temperature: sampling.temperature,
    top_p: sampling.topP,
    seed: sampling.seed,
  };
  // llama.cpp's server reads a GBNF `grammar`; other servers take the answer's schema as response_format.
  if (request.grammar !== undefined) body.grammar = request.grammar;
  else if (request.schema)
    body.response_format = {
      type: "json_schema",
      json_schema: { name: "builder_answer", schema: request.schema, strict: true },
    };
  // Not in OpenAI's API; llama.cpp's server and vLLM read them. Sent only when configured.
  if (sampling.topK !== undefined) body.top_k = sampling.topK;
  if (sampling.repeatPenalty !== undefined) body.repeat_penalty = sampling.repeatPenalty;
  return body;
}

/**
 * Reads the SSE stream into `state`, each event parsed with the chunk schema; fails on an error the
 * server reports in the stream, and on a stream that ends with neither a finish reason nor `[DONE]`.
 */
async function readChatStream(
  response: Response,
  state: StreamState,
  watchdog: StreamWatchdog,
  onTextChunk?: (piece: string) => void,
): Promise<void> {
  if (!response.body) throw new TruncatedStreamError();
  let sawDone = false;
  for await (const data of readSseData(response.body)) {
    if (data.trim() === "[DONE]") {
      sawDone = true;
      break;
    }
    const chunk = parseReply(ChatCompletionChunkSchema, data);
    if (chunk.error !== undefined)
      throw new StreamReportedError(
        typeof chunk.error === "string" ? chunk.error : (chunk.error.message ?? JSON.stringify(chunk.error)),
      );
    const choice = chunk.choices?.[0];
    const piece = choice?.delta?.content ?? "";
    if (piece) {
      watchdog.progress();
      state.firstTokenAt ??= performance.now();
      state.lastTokenAt = performance.now();
      state.text += piece;
      state.pieces++;
      onTextChunk?.(piece);
    }
    if (choice?.finish_reason) {
      watchdog.progress();
      state.finishReason = choice.finish_reason;
    }
    if (chunk.usage) state.usage = chunk.usage;
    if (chunk.timings) state.timings = chunk.timings;
  }
  if (!state.finishReason && !sawDone) throw new TruncatedStreamError();
}
