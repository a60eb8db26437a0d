import { BackendError } from "../../errors/errors.js";
import { getLogger } from "../../telemetry/logger.js";
import { isEndpointDown } from "../http-common/failures.js";
import type { Backend, BackendInfo, ChatMessage, GenerateRequest, GenerateResult } from "../types.js";
import { EndpointPool, type EndpointPoolOptions, type PoolEndpoint } from "./endpoint-pool.js";

/**
 * A backend over several endpoints of one kind (Ollama hosts, OpenAI-compatible servers). Each
 * request goes to the least busy endpoint that is up. An endpoint that refuses connections (or dies
 * before the first token) is marked down and retried later, and the request fails over to another
 * endpoint; a failure after the first token is final, because part of the answer was already used.
 */
export class PooledBackend implements Backend {
  readonly pool: EndpointPool<Backend>;
  private info: BackendInfo | undefined;

  constructor(members: ReadonlyArray<{ url: string; member: Backend }>, options: EndpointPoolOptions = {}) {
    this.pool = new EndpointPool(members, options);
  }

  /** Prepares the first endpoint that answers; the others are prepared on first use. */
  async prepare(): Promise<BackendInfo> {
    if (this.info) return this.info;
    const info = await this.onSomeEndpoint(
      (member) => member.prepare(),
      () => undefined,
    );
    this.info = {
      ...info,
      device: `${info.device}; pool of ${this.pool.endpoints.length}: ${this.pool.endpoints.map((e) => e.url).join(", ")}`,
    };
    return this.info;
  }

  async countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }> {
    return this.onSomeEndpoint(
      (member) => member.countPromptTokens(messages),
      () => undefined,
    );
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    let receivedText = false;
    const tracked: GenerateRequest = {
      ...request,
      onTextChunk: (text) => {
        receivedText = true;
        request.onTextChunk?.(text);
      },
    };
    return this.onSomeEndpoint(
      (member) => member.generate(tracked),
      () => receivedText,
    );
  }

  async dispose(): Promise<void> {
    this.info = undefined;
    await Promise.all(this.pool.endpoints.map((e) => e.member.dispose()));
  }

  /**
   * Runs `job` on the least busy endpoint that is up, moving on to the next when the endpoint turns
   * out to be down. `started` tells whether the job already got part of an answer (no failover then).
   */
  private async onSomeEndpoint<T>(
    job: (member: Backend) => Promise<T>,
    started: () => boolean | undefined,
  ): Promise<T> {
    const tried = new Set<string>();
    const logger = getLogger();
    let lastError: unknown;
    for (;;) {
      const endpoint = this.pool.pick(tried);
      if (!endpoint) throw this.allDown(tried, lastError);
      tried.add(endpoint.url);
      const release = this.pool.acquire(endpoint);
      try {
        const result = await job(endpoint.member);
        this.pool.markUp(endpoint);
        return result;
      } catch (error) {
        if (!isEndpointDown(error) || started()) throw error;
        lastError = error;
        this.markDown(endpoint, error);
        logger.warn(
          { endpoint: endpoint.url, retry_after_ms: this.pool.retryAfterMs, err: error },
          `endpoint ${endpoint.url} is down; trying another`,
        );
      } finally {
        release();
      }
    }
  }

  private markDown(endpoint: PoolEndpoint<Backend>, error: unknown): void {
    const reason = error instanceof BackendError ? (error.reason ?? error.code) : "failed";
    this.pool.markDown(endpoint, reason);
  }

  private allDown(tried: ReadonlySet<string>, lastError: unknown): BackendError {
    const last = lastError instanceof Error ? ` Last failure: ${lastError.message}` : "";
    return new BackendError(
      "BACKEND_UNAVAILABLE",
      `No endpoint of the pool can take the request (${this.pool.describe()}). Start the servers or check ollama.hosts / openai.base_urls; endpoints marked down are tried again after ${Math.round(this.pool.retryAfterMs / 1000)} s.${last}`,
      { extra: { endpoints: this.pool.endpoints.map((e) => e.url), tried: [...tried] } },
    );
  }
}
