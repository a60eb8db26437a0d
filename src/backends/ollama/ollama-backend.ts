import { Ollama } from "ollama";
import { ModelError } from "../../errors/errors.js";
import { getLogger } from "../../telemetry/logger.js";
import { describeBackend } from "../descriptors.js";
import type { BackendInfo, GenerateRequest, GenerateResult, BackendConfig } from "../types.js";
import {
  autoWindowCap,
  chooseWindow,
  defaultContextSize as defaultWindow,
  keepsLoadedWindow,
} from "../../window-size/policy.js";
import { ensurePromptFits, ensureServerCountsFit } from "../http-common/context-fit.js";
import { estimatePromptTokens } from "../http-common/estimate-tokens.js";
import { RemoteBackend } from "../http-common/remote-backend.js";
import type { FailureContext } from "../http-common/failures.js";
import { checkReply, guardedFetch, retryRefused } from "../../http-client/http.js";
import {
  OllamaChatChunkSchema,
  OllamaPsSchema,
  OllamaShowSchema,
  type OllamaChatChunk,
  type OllamaShow,
} from "../../http-client/ollama-replies.js";
import { StreamWatchdog } from "../http-common/stream-watchdog.js";
import { ollamaFailure, ollamaStartHint } from "./ollama-errors.js";
import { ollamaOptions } from "./request-options.js";
import { runningModelState, type RunningModelState } from "./running-model.js";

/** Options for {@link OllamaBackend}. */
export interface OllamaBackendOptions {
  /** The server; default: the first of `config.ollama.hosts`. */
  host?: string;
  /**
   * Extra attempts when the connection is refused (a server that is still starting). An endpoint
   * pool passes 0: it fails over to another endpoint instead.
   */
  connectRetries?: number;
}

/**
 * A model served by Ollama, through the official `ollama` client: chat with the answer's JSON schema
 * as `format` (structured outputs), streamed, with Builder's options mapped to Ollama's.
 */
export class OllamaBackend extends RemoteBackend {
  readonly host: string;
  /** Whether `/api/ps` was read after a generation (see readRunningState). */
  private runningStateRead = false;

  constructor(
    private readonly config: BackendConfig,
    options: OllamaBackendOptions = {},
  ) {
    super(options.connectRetries ?? 2);
    this.host = (options.host ?? config.ollama.host).replace(/\/+$/, "");
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    const info = await this.prepare();
    const estimate = estimatePromptTokens(request.messages);
    ensurePromptFits(estimate, request.sampling.maxTokens, info.contextSize);
    const watchdog = new StreamWatchdog(this.config.ollama.timeouts, request.signal);
    const client = this.client(watchdog.signal);
    const started = performance.now();
    let firstTokenAt: number | undefined;
    let text = "";
    let final: OllamaChatChunk | undefined;
    watchdog.start("load");
    try {
      const stream = await retryRefused(
        () =>
          client.chat({
            model: info.model,
            messages: request.messages,
            format: request.schema,
            stream: true,
            keep_alive: this.config.ollama.keepAlive,
            options: ollamaOptions(this.config.options, request.sampling, info.contextSize),
          }),
        {
          retries: this.connectRetries,
          signal: watchdog.signal,
          onRetry: (attempt, delay) => this.logRetry(attempt, delay),
        },
      );
      for await (const raw of stream) {
        watchdog.progress();
        const part = checkReply(OllamaChatChunkSchema, raw);
        const piece = part.message?.content ?? "";
        if (piece) {
          firstTokenAt ??= performance.now();
          text += piece;
          request.onTextChunk?.(piece);
        }
        if (part.done) final = part;
      }
    } catch (error) {
      if (watchdog.cancelled && !watchdog.timedOut) {
        return { text, stopReason: "abort", metrics: { promptTokens: estimate, generatedTokens: 0, generationMs: 0 } };
      }
      throw ollamaFailure(error, this.failureContext(info.model, watchdog, text.length));
    } finally {
      watchdog.stop();
    }
    if (!final)
      throw ollamaFailure(
        new Error("Did not receive done or success response in stream."),
        this.failureContext(info.model, undefined, text.length),
      );
    const metrics = finalMetrics(final, estimate, started, firstTokenAt);
    ensureServerCountsFit(metrics.promptTokens, metrics.generatedTokens, info.contextSize, this.serverName);
    if (!this.runningStateRead) await this.readRunningState(info);
    return { text, stopReason: final.done_reason === "length" ? "length" : "stop", metrics };
  }

  /** `model`'s entry of `/api/ps`; undefined when it is not loaded or the server does not answer (best effort). */
  private async readPs(model: string): Promise<RunningModelState | undefined> {
    try {
      const client = new Ollama({
        host: this.host,
        fetch: guardedFetch({ timeoutMs: this.config.ollama.timeouts.connectMs }),
      });
      return runningModelState(checkReply(OllamaPsSchema, await client.ps()), model);
    } catch (error) {
      getLogger().debug({ host: this.host, err: (error as Error).message }, "GET /api/ps failed; the report says so");
      return undefined;
    }
  }

  private get serverName(): string {
    return `Ollama at ${this.host}`;
  }

  /**
   * After a generation (the server has loaded the model by then), reads `/api/ps` into `info`: the
   * memory split for the report, and the context the server actually loaded, which replaces the
   * requested one. Best effort: a server without `/api/ps` leaves `info` as it was.
   */
  private async readRunningState(info: BackendInfo): Promise<void> {
    // Once per backend: repair rounds run on the same loaded model, so asking again adds a request per round.
    this.runningStateRead = true;
    const state = await this.readPs(info.model);
    if (!state) return;
    info.accelerator = state.accelerator;
    if (state.contextLength === undefined) return;
    if (info.contextOrigin !== "server" && state.contextLength < (info.requestedContextSize ?? 0))
      getLogger().warn(
        { host: this.host, context_length: state.contextLength, num_ctx: info.requestedContextSize },
        `${this.serverName} runs ${info.model} with a ${state.contextLength}-token context, not the ${info.requestedContextSize} requested; later prompts are fitted to ${state.contextLength}.`,
      );
    info.contextSize = state.contextLength;
    info.contextOrigin = "server";
  }

  /** Checks that the server answers and has the model, and reads what it tells about it. */
  protected async connect(): Promise<BackendInfo> {
    const model = this.config.model;
    if (!model) {
      throw new ModelError(
        "MODEL_NOT_CONFIGURED",
        'No Ollama model is configured. Pass --model <name> (e.g. qwen2.5-coder:7b), set OLLAMA_MODEL, or set "model" in builder.config.json; `ollama list` shows the models on the server.',
      );
    }
    const watchdog = new StreamWatchdog(this.config.ollama.timeouts);
    watchdog.start("connect");
    let show: OllamaShow;
    try {
      const client = this.client(watchdog.signal);
      const answer = await retryRefused(() => client.show({ model }), {
        retries: this.connectRetries,
        signal: watchdog.signal,
        onRetry: (attempt, delay) => this.logRetry(attempt, delay),
      });
      show = checkReply(OllamaShowSchema, answer);
    } catch (error) {
      throw ollamaFailure(error, this.failureContext(model, watchdog, 0));
    } finally {
      watchdog.stop();
    }
    const configured = this.config.options.num_ctx;
    const trained = trainedContext(show);
    // Ollama loads no more than the model was trained on, whatever num_ctx asks: budget with what it will
    // load. A server that holds the model with a larger window than that (builder serve may) is believed.
    const loaded =
      configured !== undefined && trained !== undefined ? (await this.readPs(model))?.contextLength : undefined;
    const limit = trained !== undefined ? Math.max(trained, loaded ?? 0) : undefined;
    const contextSize =
      configured !== undefined ? Math.min(configured, limit ?? configured) : defaultContextSize(show, trained);
    getLogger().debug({ host: this.host, model, contextSize }, "ollama model ready");
    return {
      backend: "ollama",
      capabilities: describeBackend("ollama").capabilities,
      model,
      contextSize,
      contextOrigin: "requested",
      requestedContextSize: configured ?? contextSize,
      ...(configured === undefined ? { autoWindowCap: autoWindowCap(trained, undefined) } : {}),
      device: `${this.serverName}${describeModel(show)}`,
      loadMs: 0,
    };
  }

  /**
   * `num_ctx: auto`: requests the smallest bucket that holds `neededTokens`, or the window the server
   * already holds the model with when that is at least as large (Ollama reloads a model whenever
   * num_ctx changes, so a smaller request would reload it for nothing).
   */
  async fitWindow(neededTokens: number): Promise<BackendInfo> {
    const info = await this.prepare();
    const window = chooseWindow(neededTokens, info.autoWindowCap ?? info.contextSize);
    const loaded = (await this.readPs(info.model))?.contextLength;
    info.contextSize = keepsLoadedWindow(loaded, window) ? (loaded ?? window) : window;
    info.requestedContextSize = info.contextSize;
    getLogger().debug({ host: this.host, needed: neededTokens, window, loaded }, "ollama: num_ctx auto");
    return info;
  }

  private client(signal: AbortSignal): Ollama {
    return new Ollama({ host: this.host, fetch: guardedFetch({ signal }) });
  }

  private failureContext(
    model: string,
    watchdog: StreamWatchdog | undefined,
    receivedChars: number,
  ): FailureContext & { model: string } {
    return {
      server: this.serverName,
      endpoint: this.host,
      section: "ollama",
      startHint: ollamaStartHint(),
      watchdog,
      receivedChars,
      model,
    };
  }

  private logRetry(attempt: number, delayMs: number): void {
    getLogger().warn(
      { host: this.host, attempt, delay_ms: delayMs },
      `${this.serverName} refused the connection; retrying`,
    );
  }
}

/** The run's numbers from the final line's counters (Ollama times in nanoseconds), else from the clock. */
function finalMetrics(
  final: OllamaChatChunk,
  estimate: number,
  started: number,
  firstTokenAt: number | undefined,
): GenerateResult["metrics"] & { promptTokens: number; generatedTokens: number } {
  const ended = performance.now();
  return {
    promptTokens: final.prompt_eval_count ?? estimate,
    promptMs: nsToMs(final.prompt_eval_duration),
    timeToFirstTokenMs: firstTokenAt !== undefined ? firstTokenAt - started : undefined,
    generatedTokens: final.eval_count ?? 0,
    generationMs: nsToMs(final.eval_duration) ?? (firstTokenAt !== undefined ? ended - firstTokenAt : 0),
    loadMs: nsToMs(final.load_duration),
  };
}

function nsToMs(value: number | undefined): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value / 1e6 : undefined;
}

/**
 * The window Ollama would use by default: the model's `num_ctx` parameter (from its Modelfile) or its
 * trained context length, capped like the embedded engine's default.
 */
function defaultContextSize(show: OllamaShow, trained: number | undefined): number {
  const parameter = /^\s*num_ctx\s+(\d+)\s*$/m.exec(show.parameters ?? "");
  if (parameter) return Number(parameter[1]);
  return defaultWindow(trained);
}

/** The model's trained context (`<arch>.context_length` in `/api/show`'s model_info), when it says. */
function trainedContext(show: OllamaShow): number | undefined {
  const info = show.model_info ?? {};
  return Object.entries(info).find(
    ([key, value]) => key.endsWith(".context_length") && typeof value === "number",
  )?.[1] as number | undefined;
}

function describeModel(show: OllamaShow): string {
  const parts = [show.details?.family, show.details?.parameter_size, show.details?.quantization_level].filter(
    (p): p is string => Boolean(p),
  );
  return parts.length > 0 ? ` (${parts.join(" ")})` : "";
}
