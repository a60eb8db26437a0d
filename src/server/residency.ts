import type { EmbeddedEngine } from "../backends/embedded/engine.js";
import type { HostedModel, LoadSettings } from "./hosted-model.js";

/** Ollama's expiry date for "kept loaded forever". */
export const FOREVER = new Date(Date.UTC(2318, 0, 1));

/** Someone holding a loaded model for one request, for `builder ps`. */
export interface ModelUser {
  client: string;
  since: Date;
}

/**
 * One loaded copy of a model: its engine (the weights and one context with the host's parallel
 * sequences), the requests holding it, and when it unloads. A residency that is `retiring` takes no
 * new request: it is unloaded as soon as the requests it runs end (a bigger window or other load
 * settings were asked for, or it was evicted), and the next request loads a new one.
 */
export class Residency {
  value: EmbeddedEngine | undefined;
  active = 0;
  retiring = false;
  /** `keep_alive: 0` arrived while requests ran: unload when they end. */
  unloadWhenIdle = false;
  /** When it was last used, in the host's order of uses (least recently used idle models unload first). */
  lastUsed = 0;
  readonly loadedAt = new Date();
  loadMs = 0;
  keepAliveMs: number;
  expires: Date | undefined;
  timer: NodeJS.Timeout | undefined;
  readonly users = new Map<number, ModelUser>();
  /** Resolves once the engine is disposed and the residency is gone from the host. */
  readonly gone: Promise<void>;
  markGone!: () => void;

  constructor(
    readonly model: HostedModel,
    readonly settings: LoadSettings,
    readonly engine: Promise<EmbeddedEngine>,
    keepAliveMs: number,
  ) {
    this.keepAliveMs = keepAliveMs;
    this.gone = new Promise((resolve) => (this.markGone = resolve));
    const started = performance.now();
    engine.then(
      (loaded) => {
        this.value = loaded;
        this.loadMs = performance.now() - started;
      },
      () => undefined,
    );
  }

  /** The context window each sequence has, once loaded (else the one asked for, if any). */
  get contextSize(): number | undefined {
    return this.value?.contextSize ?? this.settings.numCtx;
  }

  /**
   * Whether a request needing `numCtx` tokens with these explicit load settings can run here: the
   * loaded window is at least as large (a 16K context serves an 8K request), and every load setting the
   * request names is the one this copy was loaded with.
   */
  serves(numCtx: number | undefined, load: LoadSettings): boolean {
    if (numCtx !== undefined) {
      const size = this.contextSize;
      if (size === undefined || size < numCtx) return false;
    }
    for (const key of Object.keys(load) as Array<keyof LoadSettings>) {
      if (key === "numCtx" || load[key] === undefined) continue;
      if (this.settings[key] !== load[key]) return false;
    }
    return true;
  }

  /** Stops the unload timer (a request holds the model). */
  cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** When it unloads if no request comes (undefined while requests run). */
  get expiresAt(): Date | undefined {
    return this.active > 0 ? undefined : this.expires;
  }
}
