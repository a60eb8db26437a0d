/** One endpoint of a pool and what the pool knows about it. */
export interface PoolEndpoint<T> {
  url: string;
  member: T;
  /** Requests running on it now. */
  busy: number;
  /** Until when (ms since epoch) it counts as down; 0 when up. */
  downUntil: number;
  /** Why it was last marked down. */
  lastError?: string;
  /** Order of last use, to spread ties. */
  lastUsed: number;
}

/** Options for {@link EndpointPool}. */
export interface EndpointPoolOptions {
  /** How long an endpoint that failed stays out of rotation before it is tried again. Default 30 s. */
  retryAfterMs?: number;
  now?: () => number;
}

/**
 * Several endpoints of one kind. {@link pick} returns the least busy endpoint that is up (ties go to
 * the one used longest ago); an endpoint marked down is skipped until its retry time has passed.
 */
export class EndpointPool<T> {
  readonly endpoints: ReadonlyArray<PoolEndpoint<T>>;
  readonly retryAfterMs: number;
  private readonly now: () => number;
  private uses = 0;

  constructor(entries: ReadonlyArray<{ url: string; member: T }>, options: EndpointPoolOptions = {}) {
    if (entries.length === 0) throw new Error("an endpoint pool needs at least one endpoint");
    this.endpoints = entries.map((entry) => ({
      url: entry.url,
      member: entry.member,
      busy: 0,
      downUntil: 0,
      lastUsed: 0,
    }));
    this.retryAfterMs = options.retryAfterMs ?? 30_000;
    this.now = options.now ?? Date.now;
  }

  /** The least busy endpoint that is up and not in `exclude`; undefined when there is none. */
  pick(exclude: ReadonlySet<string> = new Set()): PoolEndpoint<T> | undefined {
    const now = this.now();
    let best: PoolEndpoint<T> | undefined;
    for (const endpoint of this.endpoints) {
      if (exclude.has(endpoint.url) || endpoint.downUntil > now) continue;
      if (!best || endpoint.busy < best.busy || (endpoint.busy === best.busy && endpoint.lastUsed < best.lastUsed))
        best = endpoint;
    }
    return best;
  }

  /** Counts a request on `endpoint` until the returned function is called. */
  acquire(endpoint: PoolEndpoint<T>): () => void {
    endpoint.busy++;
    endpoint.lastUsed = ++this.uses;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      endpoint.busy--;
    };
  }

  /** Takes `endpoint` out of rotation for `retryAfterMs`. */
  markDown(endpoint: PoolEndpoint<T>, reason: string): void {
    endpoint.downUntil = this.now() + this.retryAfterMs;
    endpoint.lastError = reason;
  }

  /** Puts `endpoint` back into rotation (it answered). */
  markUp(endpoint: PoolEndpoint<T>): void {
    endpoint.downUntil = 0;
    endpoint.lastError = undefined;
  }

  /** One line per endpoint, for messages. */
  describe(): string {
    const now = this.now();
    return this.endpoints
      .map(
        (e) =>
          `${e.url}: ${e.downUntil > now ? `down (${e.lastError ?? "failed"}), retried in ${Math.ceil((e.downUntil - now) / 1000)} s` : `up, ${e.busy} running`}`,
      )
      .join("; ");
  }
}
