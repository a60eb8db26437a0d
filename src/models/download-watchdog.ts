/** When a download is given up. */
export interface DownloadWatchdogOptions {
  /** Give up after the transfer restarted from an earlier byte this many times (a server that keeps dropping). */
  maxRestarts: number;
  /** Give up when no byte arrived for this long. */
  stallMs: number;
}

/** Defaults: three restarts, or two minutes without a byte (`BUILDER_DOWNLOAD_STALL_MS` overrides). */
export function defaultWatchdogOptions(env: NodeJS.ProcessEnv = process.env): DownloadWatchdogOptions {
  return { maxRestarts: 3, stallMs: Number(env.BUILDER_DOWNLOAD_STALL_MS) || 120_000 };
}

/**
 * Watches a download's progress and rejects `failed` when it goes nowhere. node-llama-cpp's downloader
 * retries a dropped transfer from the start for ever and does not honour its abort signal while it
 * does, so the caller races the download against `failed` instead of waiting on it.
 */
export class DownloadWatchdog {
  readonly failed: Promise<never>;
  private reject: (error: Error) => void = () => undefined;
  private timer: NodeJS.Timeout | undefined;
  private downloaded = 0;
  private restarts = 0;

  constructor(private readonly options: DownloadWatchdogOptions) {
    this.failed = new Promise<never>((_, reject) => {
      this.reject = reject;
    });
    this.failed.catch(() => undefined);
    this.arm();
  }

  /** Feed it every progress report. */
  progress(downloadedSize: number): void {
    if (downloadedSize < this.downloaded) {
      this.restarts += 1;
      if (this.restarts >= this.options.maxRestarts) {
        this.stop();
        this.reject(
          new Error(
            `the transfer broke off and restarted ${this.restarts} times (the server closes the connection before the end of the file)`,
          ),
        );
        return;
      }
    }
    if (downloadedSize !== this.downloaded) this.arm();
    this.downloaded = downloadedSize;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.stop();
    this.timer = setTimeout(
      () => this.reject(new Error(`no data arrived for ${Math.round(this.options.stallMs / 1000)} s`)),
      this.options.stallMs,
    );
    this.timer.unref();
  }
}
