import { chmod, readFile, unlink, writeFile } from "node:fs/promises";
import { createServer, type Socket } from "node:net";
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
  const startedAt = new Date().toISOString();
  let busy = 0;
  let expiresAt: number | null = null;
  let timer: NodeJS.Timeout | undefined;
  const sockets = new Set<Socket>();
  let stopping = false;

  const shutdown = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, "resident engine stopping");
    server.close();
    for (const socket of sockets) socket.destroy();
    await Promise.all([paths.socket, paths.info].map((file) => unlink(file).catch(() => undefined)));
    await backend.dispose().catch(() => undefined);
    await unlink(paths.lock).catch(() => undefined);
    process.exit(0);
  };
  const armKeepAlive = (): void => {
    clearTimeout(timer);
    if (busy > 0 || spec.keepAliveMs === null) {
      expiresAt = null;
      return;
    }
    expiresAt = Date.now() + spec.keepAliveMs;
    timer = setTimeout(() => void shutdown("keep_alive expired"), spec.keepAliveMs);
  };
  const status = (): EngineStatus => ({
    id: spec.id,
    pid: process.pid,
    model: info.model,
    rss_bytes: process.memoryUsage().rss,
    model_bytes: info.memoryBytes ?? 0,
    busy,
    sequences: RESIDENT_SEQUENCES,
    expires_at: expiresAt === null ? null : new Date(expiresAt).toISOString(),
    keep_alive_ms: spec.keepAliveMs,
    started_at: startedAt,
  });

  const server = createServer((socket) => {
    sockets.add(socket);
    const inFlight = new Map<number, AbortController>();
    const heartbeat = setInterval(() => {
      if (inFlight.size > 0) send(socket, { type: "alive" });
    }, 1000);
    socket.on("close", () => {
      sockets.delete(socket);
      clearInterval(heartbeat);
      // A client that went away stops its generation and frees its sequence.
      for (const controller of inFlight.values()) controller.abort();
    });
    socket.on("error", () => undefined);
    onLines<ClientMessage>(socket, (message) => {
      void handle(message).catch((error: unknown) => {
        const { error: body } = toBuilderError(error).toJSON();
        send(socket, { type: "error", id: message.id, error: body });
      });
    });
    const handle = async (message: ClientMessage): Promise<void> => {
      switch (message.type) {
        case "hello":
          send(socket, { type: "hello", id: message.id, info: { ...info, device: `${info.device}, resident engine pid ${process.pid}`, loadMs: 0, resident: true }, pid: process.pid });
          return;
        case "status":
          send(socket, { type: "status", id: message.id, status: status() });
          return;
        case "stop":
          send(socket, { type: "stopping", id: message.id });
          socket.end(() => void shutdown("builder stop"));
          return;
        case "cancel":
          inFlight.get(message.id)?.abort();
          return;
        case "count":
        case "generate":
          busy++;
          armKeepAlive();
          try {
            if (message.type === "count") {
              const { tokens } = await backend.countPromptTokens(message.messages);
              send(socket, { type: "count", id: message.id, tokens });
            } else {
              const controller = new AbortController();
              inFlight.set(message.id, controller);
              try {
                const result = await backend.generate({
                  ...message.request,
                  signal: controller.signal,
                  onTextChunk: message.stream ? (text) => send(socket, { type: "chunk", id: message.id, text }) : undefined,
                });
                send(socket, { type: "result", id: message.id, result });
              } finally {
                inFlight.delete(message.id);
              }
            }
          } finally {
            busy--;
            armKeepAlive();
          }
      }
    };
  });

  await unlink(paths.socket).catch(() => undefined);
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(paths.socket, resolve));
  await chmod(paths.socket, 0o600);
  const infoFile: EngineInfoFile = { id: spec.id, pid: process.pid, model: info.model, socket: paths.socket, log: paths.log, started_at: startedAt };
  await writeFile(paths.info, JSON.stringify(infoFile), { mode: 0o600 });
  process.on("SIGTERM", () => void shutdown("SIGTERM"));
  process.on("SIGINT", () => void shutdown("SIGINT"));
  armKeepAlive();
  logger.info({ socket: paths.socket, model: info.model, keep_alive_ms: spec.keepAliveMs, load_ms: Math.round(info.loadMs) }, "resident engine ready");
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
