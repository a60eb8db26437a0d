import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, openSync, writeFileSync } from "node:fs";
import { readFile, unlink } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { BuilderConfig } from "../../config/load.js";
import { DEFAULT_SERVER_TIMEOUTS } from "../../config/load.js";
import { resolveModelPath } from "../../models/resolve-model.js";
import { getLogger } from "../../telemetry/logger.js";
import { EmbeddedBackend } from "../embedded/embedded-backend.js";
import type { Backend, BackendInfo, ChatMessage, GenerateRequest, GenerateResult } from "../types.js";
import type { DaemonSpec } from "./engine-daemon.js";
import { EngineConnection, EngineUnavailable } from "./engine-connection.js";
import {
  ENGINE_DAEMON_ARG,
  engineDir,
  engineId,
  enginePaths,
  ensurePrivateDir,
  processAlive,
  type EnginePaths,
} from "./engine-paths.js";

/** The CLI entry point the engine process runs (dist/cli/main.js beside this file's dist/ folder). */
const CLI_MAIN = fileURLToPath(new URL("../../cli/main.js", import.meta.url));

/** How long a resident engine may stay silent during a request before it counts as hung (`BUILDER_ENGINE_TIMEOUT_MS`). */
export const DEFAULT_ENGINE_TIMEOUT_MS = 30_000;

/**
 * The embedded backend through a resident engine process that keeps the model loaded between runs
 * (`keep_alive`). Starts the engine when none runs. When it cannot start, dies or hangs, the run goes
 * on in-process and says so in one warning line.
 */
export class ResidentBackend implements Backend {
  private connection: Promise<{ connection: EngineConnection; info: BackendInfo }> | undefined;
  private fallback: EmbeddedBackend | undefined;
  private readonly timeoutMs: number;

  constructor(
    private readonly config: BuilderConfig,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    const fromEnv = Number(env.BUILDER_ENGINE_TIMEOUT_MS);
    this.timeoutMs = Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : DEFAULT_ENGINE_TIMEOUT_MS;
  }

  async prepare(): Promise<BackendInfo> {
    if (this.fallback) return this.fallback.prepare();
    // A model that cannot be found or downloaded is the user's error, not the engine's: no fallback.
    const modelPath = await resolveModelPath(this.config.model, { cacheDir: this.config.modelCacheDir });
    try {
      this.connection ??= this.connect(modelPath);
      return (await this.connection).info;
    } catch (error) {
      return this.fallBack(error).prepare();
    }
  }

  async countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }> {
    await this.prepare();
    if (this.fallback) return this.fallback.countPromptTokens(messages);
    try {
      const { connection } = await this.connected();
      const reply = await connection.request({ type: "count", messages });
      if (reply.type !== "count") throw new EngineUnavailable(`unexpected reply ${reply.type}`);
      return { tokens: reply.tokens, exact: true };
    } catch (error) {
      if (!(error instanceof EngineUnavailable)) throw error;
      return this.fallBack(error).countPromptTokens(messages);
    }
  }

  async generate(request: GenerateRequest): Promise<GenerateResult> {
    await this.prepare();
    if (this.fallback) return this.fallback.generate(request);
    const { signal, onTextChunk, onRestart, ...data } = request;
    let streamed = false;
    const relay = onTextChunk
      ? (text: string): void => {
          streamed = true;
          onTextChunk(text);
        }
      : undefined;
    try {
      const { connection } = await this.connected();
      const reply = await connection.request(
        { type: "generate", request: data, stream: relay !== undefined },
        relay,
        signal,
      );
      if (reply.type !== "result") throw new EngineUnavailable(`unexpected reply ${reply.type}`);
      return { ...reply.result, metrics: { ...reply.result.metrics, ranIn: "resident" } };
    } catch (error) {
      if (!(error instanceof EngineUnavailable)) throw error;
      // The engine died mid-answer: the whole answer is generated again here (the result is only ever
      // used once it is complete, so nothing is written twice). The listener hears that what it was
      // streamed is discarded before the answer streams again; without one, the new answer is not streamed.
      if (streamed) onRestart?.(`the resident engine stopped (${error.message}); the answer restarts in-process`);
      const fallback = this.fallBack(error);
      const { loadMs } = await fallback.prepare();
      const again = streamed && !onRestart ? { ...request, onTextChunk: undefined } : request;
      const result = await fallback.generate(again);
      return {
        ...result,
        metrics: { ...result.metrics, loadMs: (result.metrics.loadMs ?? 0) + loadMs, ranIn: "in-process" },
      };
    }
  }

  async dispose(): Promise<void> {
    const connection = this.connection;
    this.connection = undefined;
    if (connection) (await connection.catch(() => undefined))?.connection.close();
    await this.fallback?.dispose();
  }

  private async connected(): Promise<{ connection: EngineConnection; info: BackendInfo }> {
    if (!this.connection) throw new EngineUnavailable("not connected");
    return this.connection;
  }

  private fallBack(error: unknown): EmbeddedBackend {
    if (!this.fallback) {
      getLogger().warn(
        { reason: (error as Error).message },
        `resident engine unavailable (${(error as Error).message}); running the model in-process for this run`,
      );
      this.fallback = new EmbeddedBackend(this.config);
      const connection = this.connection;
      this.connection = undefined;
      void connection?.then(
        (c) => c.connection.close(),
        () => undefined,
      );
    }
    return this.fallback;
  }

  /** Connects to the engine for this model and settings, starting it first when none answers. */
  private async connect(modelPath: string): Promise<{ connection: EngineConnection; info: BackendInfo }> {
    const started = performance.now();
    const dir = engineDir(this.config, this.env);
    ensurePrivateDir(dir);
    const paths = enginePaths(dir, await engineId(modelPath, this.config, this.env));
    let connection = await this.tryOpen(paths);
    let loadMs = 0;
    if (!connection) {
      const child = this.spawnEngine(paths, { ...this.config, model: modelPath });
      connection = await this.waitForEngine(paths, child);
      loadMs = performance.now() - started;
    }
    const hello = await connection.request({ type: "hello" });
    if (hello.type !== "hello") throw new EngineUnavailable(`unexpected reply ${hello.type}`);
    getLogger().debug({ engine: paths.id, pid: hello.pid, socket: paths.socket }, "using the resident engine");
    return { connection, info: { ...hello.info, loadMs } };
  }

  /** An open connection, or undefined when nothing listens (a socket file left by a dead engine is removed). */
  private async tryOpen(paths: EnginePaths): Promise<EngineConnection | undefined> {
    try {
      return await EngineConnection.open(paths.socket, this.timeoutMs);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "ECONNREFUSED" || code === "ENOTSOCK") {
        const holder = Number(await readFile(paths.lock, "utf8").catch(() => ""));
        // A socket nobody listens on, and no live engine holding the lock: stale.
        if (!(holder > 0 && processAlive(holder))) {
          getLogger().debug({ socket: paths.socket }, "removing a stale engine socket");
          await Promise.all([paths.socket, paths.info].map((f) => unlink(f).catch(() => undefined)));
        }
        return undefined;
      }
      if (code === "ENOENT") return undefined;
      throw new EngineUnavailable(
        `could not reach the resident engine at ${paths.socket}: ${(error as Error).message}`,
      );
    }
  }

  private spawnEngine(paths: EnginePaths, config: BuilderConfig): ChildProcess {
    const keepAliveMs = config.engine?.keepAliveMs ?? 0;
    const spec: DaemonSpec = {
      id: paths.id,
      dir: engineDir(this.config, this.env),
      config,
      keepAliveMs: Number.isFinite(keepAliveMs) ? keepAliveMs : null,
    };
    // The spec (config, paths) goes through an owner-only file, not argv, which every user can read in `ps`.
    const specFile = paths.info.replace(/\.json$/, `.${process.pid}.spec`);
    writeFileSync(specFile, JSON.stringify(spec), { mode: 0o600 });
    const log = openSync(paths.log, "a", 0o600);
    try {
      const child = spawn(process.execPath, [CLI_MAIN, ENGINE_DAEMON_ARG, specFile], {
        detached: true,
        stdio: ["ignore", log, log],
        env: { ...this.env, BUILDER_LOG_LEVEL: this.env.BUILDER_LOG_LEVEL ?? "info" },
      });
      child.unref();
      child.on("error", () => undefined);
      getLogger().info({ engine: paths.id, pid: child.pid, log: paths.log }, "starting a resident engine");
      return child;
    } finally {
      closeSync(log);
    }
  }

  /** Polls the socket until the engine listens; gives up when the engine exited with no other one starting. */
  private async waitForEngine(paths: EnginePaths, child: ChildProcess): Promise<EngineConnection> {
    let exited = false;
    child.once("exit", () => (exited = true));
    const deadline = Date.now() + DEFAULT_SERVER_TIMEOUTS.loadMs;
    while (Date.now() < deadline) {
      if (existsSync(paths.socket)) {
        const connection = await this.tryOpen(paths);
        if (connection) return connection;
      }
      if (exited) {
        const holder = Number(await readFile(paths.lock, "utf8").catch(() => ""));
        if (!(holder > 0 && processAlive(holder)))
          throw new EngineUnavailable(`the resident engine exited while starting (see ${paths.log})`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new EngineUnavailable(
      `the resident engine did not start within ${DEFAULT_SERVER_TIMEOUTS.loadMs} ms (see ${paths.log})`,
    );
  }
}
