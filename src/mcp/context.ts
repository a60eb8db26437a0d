import type { Logger } from "pino";
import type { BuilderConfig, ConfigOverrides } from "../config/load.js";
import { loadConfig } from "../config/load.js";

/** A run the server did, for the `status` tool. */
export interface RecentRun {
  run_id?: string;
  task_id: string;
  ok: boolean;
  verdict?: string;
  error?: string;
  total_ms?: number;
  finished_at: string;
}

/** How the server was started: its workspace, config file and model flags. */
export interface McpServerOptions {
  /** The workspace when the client sends no roots (`--workspace`, else the current folder). */
  workspace: string;
  /** `--config`. */
  configPath?: string;
  /** The model flags `builder mcp` was given (backend, model, num_ctx…). */
  overrides?: ConfigOverrides;
  logger: Logger;
}

/** What every tool handler shares: the workspace of the call, its configuration, one queue, recent runs. */
export class McpContext {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly recent: RecentRun[] = [];

  constructor(
    readonly options: McpServerOptions,
    /** The workspace of a call: the client's root when it sends roots (see workspace-root.ts). */
    readonly workspace: () => Promise<string>,
  ) {}

  get logger(): Logger {
    return this.options.logger;
  }

  /**
   * The configuration for a call in `root`: its builder.config.json (or --config), the server's model
   * flags, and the call's own verification settings. The model stays loaded between calls in a
   * Builder host as `builder run` does (keep_alive decides).
   */
  config(root: string, extra: Pick<ConfigOverrides, "verify"> = {}): BuilderConfig {
    const config = loadConfig({
      cwd: root,
      configPath: this.options.configPath,
      overrides: { ...this.options.overrides, ...extra, workspace: root },
    });
    for (const warning of config.warnings) this.logger.warn(warning);
    return config.engine ? { ...config, engine: { ...config.engine, host: true } } : config;
  }

  /**
   * Runs `work` after every call queued before it: runs and writes take the model and the workspace
   * one at a time, and a cancelled run has freed the engine before the next one starts.
   */
  serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }

  /** Remembers a finished run (the last 20). */
  record(run: RecentRun): void {
    this.recent.push(run);
    if (this.recent.length > 20) this.recent.shift();
  }

  /** The runs of this server, newest last. */
  recentRuns(): readonly RecentRun[] {
    return this.recent;
  }
}
