import { chmod, readFile, unlink, writeFile } from "node:fs/promises";
import { createServer, type Server, type Socket } from "node:net";
import type { BuilderConfig } from "../../config/load.js";
import { toBuilderError } from "../../errors/errors.js";
import { getLogger } from "../../telemetry/logger.js";
import { EmbeddedBackend } from "../embedded/embedded-backend.js";
import type { BackendInfo } from "../types.js";
import { enginePaths, ensurePrivateDir, processAlive, type EnginePaths } from "./engine-paths.js";
import { onLines, send, type ClientMessage, type EngineStatus } from "./protocol.js";

/** Parallel sequences of a resident engine: runs that overlap share it instead of waiting. */
export const RESIDENT_SEQUENCES = 2;

/** What the client hands the engine process (one JSON argument). */
export interface DaemonSpec {
  id: string;
  dir: string;
  config: BuilderConfig;
  /** null = until stopped (JSON has no Infinity). */
  keepAliveMs: number | null;
}

/** What the info file beside the socket says, for `builder ps` and `builder stop`. */
export interface EngineInfoFile {
  id: string;
  pid: number;
  model: string;
  socket: string;
  log: string;
  started_at: string;
}

/**
 * Runs a resident engine: loads the model once, serves runs over the Unix socket on parallel
 * sequences, and exits by itself `keepAliveMs` after its last request (or on `builder stop`, SIGTERM).
 * Only one engine per id runs: a second one started at the same time finds the lock taken and exits.
 */
export async function runEngineDaemon(spec: DaemonSpec): Promise<void> {
  const logger = getLogger().child({ component: "engine", engine: spec.id });
  ensurePrivateDir(spec.dir);
  const paths = enginePaths(spec.dir, spec.id);
  if (!(await takeLock(paths))) {
    logger.info("another engine with these settings is already starting or running; exiting");
    return;
  }
  const backend = new EmbeddedBackend(spec.config, RESIDENT_SEQUENCES);
  let info: BackendInfo;
  try {
    info = await backend.prepare();
  } catch (error) {
    logger.error({ err: error }, "could not load the model");
    await unlink(paths.lock).catch(() => undefined);
    process.exitCode = 1;
    return;
  }
  await new ResidentEngine(spec, paths, backend, info, logger).start();
}

type Logger = ReturnType<typeof getLogger>;

/** A loaded engine: its socket server, its clients, and the keep-alive timer that ends it. */
class ResidentEngine {
  private readonly startedAt = new Date().toISOString();
  private busy = 0;
  private expiresAt: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private readonly sockets = new Set<Socket>();
  private stopping = false;
  private readonly server: Server;

  constructor(
    private readonly spec: DaemonSpec,
    private readonly paths: EnginePaths,
    private readonly backend: EmbeddedBackend,
    private readonly info: BackendInfo,
    private readonly logger: Logger,
  ) {
    this.server = createServer((socket) => this.serve(socket));
  }

  /** Listens on the socket, writes the info file, and arms the keep-alive timer. */
  async start(): Promise<void> {
    const { paths, spec, info, server } = this;
    await unlink(paths.socket).catch(() => undefined);
    await new Promise<void>((resolve, reject) => server.once("error", reject).listen(paths.socket, resolve));
    await chmod(paths.socket, 0o600);
    const infoFile: EngineInfoFile = {
      id: spec.id,
      pid: process.pid,
      model: info.model,
      socket: paths.socket,
      log: paths.log,
      started_at: this.startedAt,
    };
    await writeFile(paths.info, JSON.stringify(infoFile), { mode: 0o600 });
    process.on("SIGTERM", () => void this.shutdown("SIGTERM"));
    process.on("SIGINT", () => void this.shutdown("SIGINT"));
    this.armKeepAlive();
    this.logger.info(
      { socket: paths.socket, model: info.model, keep_alive_ms: spec.keepAliveMs, load_ms: Math.round(info.loadMs) },
      "resident engine ready",
    );
  }

  private async shutdown(reason: string): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info({ reason }, "resident engine stopping");
    this.server.close();
    for (const socket of this.sockets) socket.destroy();
    await Promise.all([this.paths.socket, this.paths.info].map((file) => unlink(file).catch(() => undefined)));
    await this.backend.dispose().catch(() => undefined);
    await unlink(this.paths.lock).catch(() => undefined);
    process.exit(0);
  }

  private armKeepAlive(): void {
    clearTimeout(this.timer);
    if (this.busy > 0 || this.spec.keepAliveMs === null) {
      this.expiresAt = null;
      return;
    }
    this.expiresAt = Date.now() + this.spec.keepAliveMs;
    this.timer = setTimeout(() => void this.shutdown("keep_alive expired"), this.spec.keepAliveMs);
  }

  private status(): EngineStatus {
    return {
      id: this.spec.id,
      pid: process.pid,
      model: this.info.model,
      rss_bytes: process.memoryUsage().rss,
      model_bytes: this.info.memoryBytes ?? 0,
      busy: this.busy,
      sequences: RESIDENT_SEQUENCES,
      expires_at: this.expiresAt === null ? null : new Date(this.expiresAt).toISOString(),
      keep_alive_ms: this.spec.keepAliveMs,
      started_at: this.startedAt,
    };
  }

  /** One client connection: its messages, a heartbeat while it has runs, and cancellation when it goes away. */
  private serve(socket: Socket): void {
    this.sockets.add(socket);
    const inFlight = new Map<number, AbortController>();
    const heartbeat = setInterval(() => {
      if (inFlight.size > 0) send(socket, { type: "alive" });
    }, 1000);
    socket.on("close", () => {
      this.sockets.delete(socket);
      clearInterval(heartbeat);
      // A client that went away stops its generation and frees its sequence.
      for (const controller of inFlight.values()) controller.abort();
    });
    socket.on("error", () => undefined);
    onLines<ClientMessage>(socket, (message) => {
      void this.handle(socket, inFlight, message).catch((error: unknown) => {
        const { error: body } = toBuilderError(error).toJSON();
        send(socket, { type: "error", id: message.id, error: body });
      });
    });
  }

  private async handle(socket: Socket, inFlight: Map<number, AbortController>, message: ClientMessage): Promise<void> {
    const { info } = this;
    switch (message.type) {
      case "hello":
        send(socket, {
          type: "hello",
          id: message.id,
          info: { ...info, device: `${info.device}, resident engine pid ${process.pid}`, loadMs: 0, resident: true },
          pid: process.pid,
        });
        return;
      case "status":
        send(socket, { type: "status", id: message.id, status: this.status() });
        return;
      case "stop":
        send(socket, { type: "stopping", id: message.id });
        socket.end(() => void this.shutdown("builder stop"));
        return;
      case "cancel":
        inFlight.get(message.id)?.abort();
        return;
      case "count":
      case "generate":
        this.busy++;
        this.armKeepAlive();
        try {
          await this.work(socket, inFlight, message);
        } finally {
          this.busy--;
          this.armKeepAlive();
        }
    }
  }

  /** A count or generate request, run on the model while the engine counts as busy. */
  private async work(
    socket: Socket,
    inFlight: Map<number, AbortController>,
    message: Extract<ClientMessage, { type: "count" | "generate" }>,
  ): Promise<void> {
    if (message.type === "count") {
      const { tokens } = await this.backend.countPromptTokens(message.messages);
      send(socket, { type: "count", id: message.id, tokens });
      return;
    }
    const controller = new AbortController();
    inFlight.set(message.id, controller);
    try {
      const result = await this.backend.generate({
        ...message.request,
        signal: controller.signal,
        onTextChunk: message.stream ? (text) => send(socket, { type: "chunk", id: message.id, text }) : undefined,
      });
      send(socket, { type: "result", id: message.id, result });
    } finally {
      inFlight.delete(message.id);
    }
  }
}

/** Takes the engine's lock file; a lock whose process is gone is stale and taken over. */
async function takeLock(paths: EnginePaths): Promise<boolean> {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(paths.lock, String(process.pid), { flag: "wx", mode: 0o600 });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(await readFile(paths.lock, "utf8").catch(() => ""));
      if (holder > 0 && processAlive(holder)) return false;
      await unlink(paths.lock).catch(() => undefined);
    }
  }
  return false;
}
