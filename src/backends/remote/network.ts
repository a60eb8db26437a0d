import { BackendError } from "../../errors/errors.js";

/** How a connection to a server failed, read from a fetch error's cause chain. */
export type ConnectionFailure = "refused" | "reset" | "unreachable";

const REFUSED = new Set(["ECONNREFUSED"]);
const RESET = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CLOSED"]);
const UNREACHABLE = new Set(["ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL"]);

/**
 * Classifies a network error. Node's fetch wraps the socket error (`TypeError: fetch failed`, cause
 * `ECONNREFUSED`), and a body cut off mid-stream surfaces as `TypeError: terminated`.
 */
export function connectionFailure(error: unknown): ConnectionFailure | undefined {
  for (let current: unknown = error, depth = 0; current instanceof Error && depth < 6; current = current.cause, depth++) {
    const code = (current as NodeJS.ErrnoException).code;
    if (code && REFUSED.has(code)) return "refused";
    if (code && RESET.has(code)) return "reset";
    if (code && UNREACHABLE.has(code)) return "unreachable";
    if (current.message === "terminated" || current.message === "other side closed") return "reset";
  }
  return undefined;
}

/**
 * True for errors that mean "this endpoint is down" (nothing reached it, or it died before the first
 * token): an endpoint pool marks it down and fails over to another endpoint.
 */
export function isEndpointDown(error: unknown): boolean {
  return error instanceof BackendError && error.details.endpoint_down === true;
}

/** Waits `ms`, or less when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}

/** Options for {@link retryRefused}. */
export interface RetryOptions {
  /** Extra attempts after the first. */
  retries: number;
  /** First wait; each later wait doubles. */
  baseDelayMs?: number;
  signal?: AbortSignal;
  onRetry?: (attempt: number, delayMs: number) => void;
}

/**
 * Runs `attempt` again, with exponential backoff, only when the connection was refused: then nothing
 * reached the server, so repeating cannot run anything twice, and a server that is starting up gets
 * time to listen. Every other failure is final.
 */
export async function retryRefused<T>(attempt: () => Promise<T>, options: RetryOptions): Promise<T> {
  const base = options.baseDelayMs ?? 250;
  for (let tried = 0; ; tried++) {
    try {
      return await attempt();
    } catch (error) {
      if (tried >= options.retries || connectionFailure(error) !== "refused" || options.signal?.aborted) throw error;
      const delay = base * 2 ** tried;
      options.onRetry?.(tried + 1, delay);
      await sleep(delay, options.signal);
    }
  }
}
