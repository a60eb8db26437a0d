import type { ServerTimeouts } from "../../config/load.js";

/** Which wait ran out: a quick check, the first token, or the gap between two pieces of the answer. */
export type TimeoutPhase = "connect" | "load" | "idle";

/** The config key that sets each timeout, for messages. */
export const TIMEOUT_KEYS: Readonly<Record<TimeoutPhase, string>> = {
  connect: "connect_timeout_ms",
  load: "load_timeout_ms",
  idle: "idle_timeout_ms",
};

/**
 * Aborts one request when the server stays silent too long. It starts in the `load` phase (waiting
 * for the first token, which includes loading the model); each streamed piece moves it to the `idle`
 * phase and restarts the clock. The caller's own signal aborts it too.
 */
export class StreamWatchdog {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private expired: { phase: TimeoutPhase; ms: number } | undefined;
  private readonly detach: () => void;

  constructor(
    private readonly timeouts: ServerTimeouts,
    private readonly parent?: AbortSignal,
  ) {
    const onParentAbort = (): void => this.controller.abort(parent?.reason);
    if (parent?.aborted) onParentAbort();
    parent?.addEventListener("abort", onParentAbort, { once: true });
    this.detach = () => parent?.removeEventListener("abort", onParentAbort);
  }

  /** Aborts when the watchdog fires or the caller aborts. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** The timeout that fired, if one did. */
  get timedOut(): { phase: TimeoutPhase; ms: number } | undefined {
    return this.expired;
  }

  /** Whether the caller (not a timeout) aborted. */
  get cancelled(): boolean {
    return this.parent?.aborted === true;
  }

  /** Starts waiting in `phase` (a quick check uses "connect"; a generation starts in "load"). */
  start(phase: "connect" | "load"): void {
    this.arm(phase);
  }

  /** A piece of the answer arrived: from now on the idle timeout applies. */
  progress(): void {
    this.arm("idle");
  }

  /** Stops the clock and lets go of the caller's signal. */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.detach();
  }

  private arm(phase: TimeoutPhase): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.controller.signal.aborted) return;
    const ms =
      phase === "connect" ? this.timeouts.connectMs : phase === "load" ? this.timeouts.loadMs : this.timeouts.idleMs;
    this.timer = setTimeout(() => {
      this.expired = { phase, ms };
      this.controller.abort(new Error(`${TIMEOUT_KEYS[phase]} (${ms} ms) exceeded`));
    }, ms);
    // A pending timeout must not keep a finished CLI process alive.
    this.timer.unref();
  }
}
