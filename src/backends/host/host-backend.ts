import { DEFAULT_SERVER_TIMEOUTS } from "../../config/load.js";
import { resolveModelPath } from "../../models/resolve-model.js";
import { processAlive } from "../../system/process-identity.js";
import { getLogger } from "../../telemetry/logger.js";
import { describeBackend } from "../descriptors.js";
import { EmbeddedBackend } from "../embedded/embedded-backend.js";
import type {
  AcceleratorUsage,
  Backend,
  BackendInfo,
  ChatMessage,
  GenerateRequest,
  GenerateResult,
  SamplingOptions,
  BackendConfig,
} from "../types.js";
import { chooseWindow, keepsLoadedWindow } from "../../window-size/policy.js";
import { connectHost } from "./host-launcher.js";
import { callHost, HostUnavailable } from "./host-http.js";

/** How long the host may stay silent during a request before it counts as hung (`BUILDER_ENGINE_TIMEOUT_MS`). */
export const DEFAULT_HOST_TIMEOUT_MS = 30_000;

/** How long a run waits for a host that died to be gone (its memory freed) before loading the model in-process. */
const DEAD_HOST_WAIT_MS = 10_000;

/** A connection to the host with the model loaded: its socket and what the run was told about the model. */
interface Session {
  socket: string;
  info: BackendInfo;
  /** The window every request of this run asks for (the run budgets with it). */
  numCtx: number;
}

/** The host's `/api/ps` entry for one model (the fields this client reads). */
interface PsEntry {
  model_path: string;
  context_length: number;
  size: number;
  device: string;
  threads: number | null;
  accelerator: AcceleratorUsage | null;
  pid: number;
  /** The largest window `num_ctx: auto` may ask for (the trained context, and what fits the memory beside the model). */
  auto_window_cap?: number | null;
}

/**
 * The embedded backend through the machine's Builder host (`builder serve` or a background host),
 * reached over its owner-only socket with the same HTTP API external clients use: the model stays
 * loaded between commands, once per machine. The host is started when none runs, and restarted when
 * it is gone between two requests. When it cannot start, dies mid-answer or hangs, the run goes on
 * in-process and says so in one warning line; an answer cut off is generated again from the start,
 * and only the complete answer is ever used (nothing is written twice).
 */
export class HostBackend implements Backend {
  private session: Promise<Session> | undefined;
  private fallback: EmbeddedBackend | undefined;
  private modelPath: string | undefined;
  private hostPid: number | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly config: BackendConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    const fromEnv = Number(env.BUILDER_ENGINE_TIMEOUT_MS);
    this.timeoutMs = Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_HOST_TIMEOUT_MS;
  }

  async prepare(): Promise<BackendInfo> {
    if (this.fallback) return this.fallback.prepare();
    // A model that cannot be found or downloaded is the user's error, not the host's: no fallback.
    this.modelPath ??= await resolveModelPath(this.config.model, { cacheDir: this.config.modelCacheDir });
    try {
      this.session ??= this.open(this.modelPath);
      return (await this.session).info;
    } catch (error) {
      this.session = undefined;
      if (!(error instanceof HostUnavailable)) throw error;
      return (await this.fallBack(error)).prepare();
    }
  }

  async countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }> {
    await this.prepare();
    if (this.fallback) return this.fallback.countPromptTokens(messages);
    try {
      const reply = await this.onHost((session) =>
        callHost(session.socket, {
          method: "POST",
          path: "/tokenize",
          body: { model: this.modelPath, messages, options: { num_ctx: session.numCtx } },
          headers: this.headers(),
          // It may wait for the model to (re)load for another request: no heartbeat on a one-object answer.
          idleMs: DEFAULT_SERVER_TIMEOUTS.loadMs,
        }),
      );
      return { tokens: Number(reply.body.count), exact: true };
    } catch (error) {
      if (!(error instanceof HostUnavailable)) throw error;
      return (await this.fallBack(error)).countPromptTokens(messages);
    }
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    await this.prepare();
    if (this.fallback) return this.fallback.generate(request);
    let streamed = false;
    try {
      return await this.onHost((session) => this.generateOnHost(session, request, () => (streamed = true)));
    } catch (error) {
      if (!(error instanceof HostUnavailable)) throw error;
      if (request.signal?.aborted)
        return { text: "", stopReason: "abort", metrics: { promptTokens: 0, generatedTokens: 0, generationMs: 0 } };
      // The host died or hung mid-answer: the whole answer is generated again here (the result is only
      // ever used once complete). The listener hears that what it was streamed is discarded first;
      // without one, the new answer is not streamed.
      if (streamed) request.onRestart?.(`the Builder host stopped (${error.message}); the answer restarts in-process`);
      const fallback = await this.fallBack(error);
      const { loadMs } = await fallback.prepare();
      const result = await fallback.generate(
        streamed && !request.onRestart ? { ...request, onTextChunk: undefined } : request,
      );
      return {
        ...result,
        metrics: { ...result.metrics, loadMs: (result.metrics.loadMs ?? 0) + loadMs, ranIn: "in-process" },
      };
    }
  }

  /**
   * `num_ctx: auto`: the smallest bucket that holds `neededTokens`. The host keeps a loaded window that
   * is already as large (no reload), and reloads the model at the bucket otherwise (after its running
   * requests finish), as it does for any client.
   */
  async fitWindow(neededTokens: number): Promise<BackendInfo> {
    const prepared = await this.prepare();
    if (this.fallback) return this.fallback.fitWindow?.(neededTokens) ?? prepared;
    const session = await this.connected();
    const cap = session.info.autoWindowCap;
    if (cap === undefined) return session.info;
    const window = chooseWindow(neededTokens, cap);
    if (keepsLoadedWindow(session.numCtx, window)) return session.info;
    try {
      this.session = this.open(this.modelPath as string, window);
      return (await this.session).info;
    } catch (error) {
      this.session = undefined;
      if (!(error instanceof HostUnavailable)) throw error;
      const fallback = await this.fallBack(error);
      return fallback.fitWindow?.(neededTokens) ?? fallback.prepare();
    }
  }

  async dispose(): Promise<void> {
    this.session = undefined;
    await this.fallback?.dispose();
  }

  /**
   * Runs `call` on the host; a host that is gone before the request reached it (nothing listens) is
   * started again and the call made once more.
   */
  private async onHost<T>(call: (session: Session) => Promise<T>): Promise<T> {
    const session = await this.connected();
    try {
      return await call(session);
    } catch (error) {
      const code = error instanceof HostUnavailable ? error.code : undefined;
      if (code !== "ECONNREFUSED" && code !== "ENOENT") throw error;
      getLogger().info("the Builder host is gone: starting it again");
      this.session = this.open(this.modelPath as string);
      return call(await this.session);
    }
  }

  private async connected(): Promise<Session> {
    if (!this.session) throw new HostUnavailable("not connected");
    return this.session;
  }

  /** Connects (starting the host if needed), loads the model there at the run's window, and reads what the host reports. */
  private async open(modelPath: string, window = this.config.options.num_ctx): Promise<Session> {
    const started = performance.now();
    const endpoint = await connectHost(this.config, this.env);
    const socket = endpoint.paths.socket;
    const load = await callHost(socket, {
      method: "POST",
      path: "/api/chat",
      body: {
        model: modelPath,
        messages: [],
        options: { num_ctx: window, ...this.loadOptions() },
        keep_alive: this.keepAlive(),
      },
      headers: this.headers(),
      idleMs: DEFAULT_SERVER_TIMEOUTS.loadMs,
    });
    const listed = await callHost(socket, { method: "GET", path: "/api/ps", idleMs: this.timeoutMs });
    const entry = (listed.body.models as PsEntry[] | undefined)?.find((m) => m.model_path === modelPath);
    if (!entry) throw new HostUnavailable("the Builder host does not list the model it was asked to load");
    this.hostPid = entry.pid;
    const numCtx = Math.min(window ?? entry.context_length, entry.context_length);
    // num_ctx auto: the run may ask for a bigger bucket (fitWindow), up to what the host says fits.
    const autoWindowCap = this.config.options.num_ctx === undefined ? (entry.auto_window_cap ?? undefined) : undefined;
    const loadedMs = Number(load.body.load_duration ?? 0) / 1e6;
    getLogger().debug({ socket, pid: entry.pid, num_ctx: numCtx }, "using the Builder host");
    return {
      socket,
      numCtx,
      info: {
        backend: "embedded",
        capabilities: describeBackend("embedded").capabilities,
        model: modelPath,
        contextSize: numCtx,
        contextOrigin: "engine",
        requestedContextSize: this.config.options.num_ctx,
        ...(autoWindowCap !== undefined ? { autoWindowCap } : {}),
        accelerator: entry.accelerator ?? undefined,
        device: `${entry.device}, Builder host pid ${entry.pid}`,
        loadMs: endpoint.started ? performance.now() - started : loadedMs,
        threads: entry.threads ?? undefined,
        memoryBytes: entry.size,
        hostPid: entry.pid,
      },
    };
  }

  private async generateOnHost(
    session: Session,
    request: GenerateRequest,
    onStreamed: () => void,
  ): Promise<GenerateResult> {
    let text = "";
    const reply = await callHost(session.socket, {
      method: "POST",
      path: "/api/chat",
      body: {
        model: this.modelPath,
        messages: request.messages,
        stream: true,
        ...(request.grammar !== undefined
          ? { grammar: request.grammar }
          : request.schema
            ? { format: request.schema }
            : {}),
        options: { ...samplingOptions(request.sampling), num_ctx: session.numCtx, ...this.loadOptions() },
        keep_alive: this.keepAlive(),
      },
      headers: { ...this.headers(), "x-builder-heartbeat": "1" },
      idleMs: this.timeoutMs,
      signal: request.signal,
      onLine: (line) => {
        const piece = (line.message as { content?: string } | undefined)?.content;
        if (line.done === true || !piece) return;
        text += piece;
        onStreamed();
        request.onTextChunk?.(piece);
      },
    });
    return resultFrom(text, reply.body);
  }

  /** The load options the configuration names (Ollama's names: `num_gpu` is gpu_layers). */
  private loadOptions(): Record<string, unknown> {
    const o = this.config.options;
    const options = {
      num_batch: o.num_batch,
      num_thread: o.num_thread,
      num_gpu: o.gpu_layers,
      use_mmap: o.use_mmap,
      use_mlock: o.use_mlock,
    };
    return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  }

  private keepAlive(): string | number {
    const ms = this.config.engine?.keepAliveMs ?? 300_000;
    return Number.isFinite(ms) ? `${Math.round(ms)}ms` : -1;
  }

  /** Who asks, for `builder ps`: the command, its pid and folder. */
  private headers(): Record<string, string> {
    const command = process.argv[2] && !process.argv[2].startsWith("-") ? process.argv[2] : "library";
    return {
      "x-builder-client": `builder ${command} (pid ${process.pid}, ${process.cwd()})`.replace(/[^\x20-\x7e]/g, "?"),
    };
  }

  /** Goes on in-process for the rest of this run (said once); waits first for a dying host to free its memory. */
  private async fallBack(error: Error): Promise<EmbeddedBackend> {
    if (this.fallback) return this.fallback;
    getLogger().warn(
      { reason: error.message },
      `Builder host unavailable (${error.message}); running the model in-process for this run`,
    );
    this.fallback = new EmbeddedBackend(this.config);
    this.session = undefined;
    const pid = this.hostPid;
    const hung = error instanceof HostUnavailable && error.code === "ETIMEDOUT";
    if (pid !== undefined && !hung) {
      const deadline = Date.now() + DEAD_HOST_WAIT_MS;
      while (processAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.fallback;
  }
}

/** Ollama's sampling options for Builder's sampling (unset ones keep llama.cpp's defaults, as in-process). */
function samplingOptions(sampling: SamplingOptions): Record<string, unknown> {
  const options = {
    num_predict: sampling.maxTokens,
    temperature: sampling.temperature,
    top_p: sampling.topP,
    top_k: sampling.topK,
    repeat_penalty: sampling.repeatPenalty,
    seed: sampling.seed,
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}

/** The result the host's final line describes (its `timings`, llama.cpp server's, carry the cache and the drafts). */
function resultFrom(text: string, body: Record<string, unknown>): GenerateResult {
  const timings = (body.timings ?? {}) as Record<string, number | boolean | null | undefined>;
  const num = (value: unknown): number => (typeof value === "number" ? value : 0);
  const drafts =
    timings.draft_n !== undefined
      ? {
          validated: num(timings.draft_n_accepted),
          refuted: num(timings.draft_n) - num(timings.draft_n_accepted),
          switchedOff: timings.draft_switched_off === true,
        }
      : undefined;
  return {
    text,
    stopReason: body.done_reason === "length" ? "length" : "stop",
    metrics: {
      promptTokens: num(body.prompt_eval_count),
      promptMs: num(timings.prompt_ms),
      timeToFirstTokenMs: num(timings.prompt_ms),
      generatedTokens: num(body.eval_count),
      generationMs: num(timings.predicted_ms),
      cachedPrefixTokens: num(timings.cache_n),
      ...(drafts ? { draftTokens: drafts } : {}),
      ranIn: "host",
    },
  };
}
