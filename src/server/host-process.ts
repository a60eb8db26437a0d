import { request as httpRequest } from "node:http";
import {
  ensurePrivateDir,
  hostPaths,
  recordIsLive,
  releaseHostLock,
  takeHostLock,
  updateHostRecord,
  type HostPaths,
  type HostRecord,
} from "../backends/host/host-files.js";
import { UsageError } from "../errors/errors.js";
import { getLogger } from "../telemetry/logger.js";
import { VERSION } from "../version.js";
import type { HostControl } from "./route-context.js";
import { startServer, type RunningServer, type ServeOptions } from "./server.js";

/** A background host with nothing loaded and nothing running exits after this long (the first time: after {@link START_GRACE_MS}). */
const IDLE_EXIT_MS = 2_000;
/** Time the command that started a background host has to send it its first request. */
const START_GRACE_MS = 30_000;
/** How long `builder serve` waits for a background host to finish its running requests and hand over. */
const HANDOVER_MS = 600_000;

/** Options for {@link runHost}. */
export interface HostProcessOptions {
  /** `background`: started by a command, socket only, exits when idle; `serve`: `builder serve` in the foreground. */
  kind: HostRecord["kind"];
  /** The host folder (socket, record, log). */
  dir: string;
  serve: Omit<ServeOptions, "socket" | "host" | "onEmpty">;
}

/** The host this process runs. */
export interface RunningHost {
  server: RunningServer;
  paths: HostPaths;
  record: HostRecord;
  /** Stops it: at once (answers under way are cut), or once running requests end (`drain`). */
  shutdown(drain: boolean): Promise<void>;
  /** Resolves once it has stopped and removed its socket and record. */
  done: Promise<void>;
}

/**
 * Runs the machine's one Builder host in this process: takes the host lock (at most one per user),
 * listens on the owner-only socket (and, for `builder serve`, on TCP), and stops on SIGTERM/SIGINT,
 * `POST /builder/shutdown`, or (a background host) once nothing is loaded and nothing runs. Returns
 * undefined when a background host finds another host running: that one serves.
 */
export async function runHost(options: HostProcessOptions): Promise<RunningHost | undefined> {
  ensurePrivateDir(options.dir);
  const paths = hostPaths(options.dir);
  const record = await acquireLock(paths, options.kind);
  if (!record) return undefined;
  let stop: (drain: boolean) => Promise<void> = async () => undefined;
  const control: HostControl = {
    describe: () => ({ ...record, rss_bytes: process.memoryUsage().rss, pid: process.pid }),
    shutdown: (drain) => void stop(drain),
  };
  let server: RunningServer;
  try {
    server = await startServer({ ...options.serve, socket: paths.socket, host: control });
  } catch (error) {
    await releaseHostLock(paths);
    throw error;
  }
  if (server.url) {
    record.url = server.url;
    await updateHostRecord(paths, record);
  }
  const lifecycle = hostLifecycle(server, paths);
  stop = lifecycle.shutdown;
  const onSignal = (): void => void lifecycle.shutdown(false);
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  void lifecycle.done.then(() => {
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  });
  if (options.kind === "background") exitWhenIdle(server, lifecycle.shutdown, lifecycle.done);
  return { server, paths, record, shutdown: lifecycle.shutdown, done: lifecycle.done };
}

function hostLifecycle(
  server: RunningServer,
  paths: HostPaths,
): { shutdown: (drain: boolean) => Promise<void>; done: Promise<void> } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  let stopping: Promise<void> | undefined;
  const shutdown = (drain: boolean): Promise<void> => {
    stopping ??= (async () => {
      getLogger().info(
        { drain },
        drain ? "Builder host handing over: finishing running requests" : "Builder host stopping",
      );
      if (drain) {
        server.stopListening();
        while (server.inFlight > 0 || server.modelHost.busy) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await server.close();
      await releaseHostLock(paths);
      getLogger().info("Builder host stopped");
      finish();
    })();
    return stopping;
  };
  return { shutdown, done };
}

/** A background host exits once nothing is loaded, nothing runs and no request came for a moment. */
function exitWhenIdle(server: RunningServer, shutdown: (drain: boolean) => Promise<void>, done: Promise<void>): void {
  let idleSince = Date.now() + START_GRACE_MS - IDLE_EXIT_MS;
  const timer = setInterval(() => {
    const idle = server.modelHost.loaded.length === 0 && !server.modelHost.busy && server.inFlight === 0;
    // The first request ends the start grace: from then on, idle for IDLE_EXIT_MS means exit.
    if (!idle) idleSince = Date.now();
    else if (Date.now() - idleSince >= IDLE_EXIT_MS) {
      clearInterval(timer);
      getLogger().info("nothing loaded and nothing running: the background host exits");
      void shutdown(false);
    }
  }, 250);
  void done.then(() => clearInterval(timer));
}

/**
 * Takes the host lock. A background host that finds a live host leaves (undefined). `builder serve`
 * that finds a background host asks it to hand over (finish its running requests and exit) and waits;
 * one that finds another `builder serve` is a usage error.
 */
async function acquireLock(paths: HostPaths, kind: HostRecord["kind"]): Promise<HostRecord | undefined> {
  const deadline = Date.now() + HANDOVER_MS;
  let asked: number | undefined;
  while (Date.now() < deadline) {
    const lock = await takeHostLock(paths, kind, VERSION);
    if (lock.taken) return lock.record;
    const holder = lock.holder;
    if (!holder) continue;
    if (kind === "background") {
      getLogger().info({ pid: holder.pid }, "another Builder host runs: it serves, this one exits");
      return undefined;
    }
    if (holder.kind === "serve")
      throw new UsageError(
        `builder serve already runs (pid ${holder.pid}${holder.url ? ` at ${holder.url}` : ""}); Builder's commands use it. Stop it first (Ctrl-C there, or builder stop).`,
      );
    if (asked !== holder.pid) {
      getLogger().info(
        { pid: holder.pid },
        "a background Builder host runs: asking it to hand over once its running requests end",
      );
      await askToDrain(paths.socket);
      asked = holder.pid;
    }
    while (recordIsLive(holder) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new UsageError(`the Builder host (see ${paths.record}) did not hand over within ${HANDOVER_MS / 1000} s.`);
}

function askToDrain(socket: string): Promise<void> {
  return new Promise((resolve) => {
    const body = JSON.stringify({ drain: true });
    const request = httpRequest(
      {
        socketPath: socket,
        path: "/builder/shutdown",
        method: "POST",
        headers: { host: "localhost", "content-type": "application/json", "content-length": Buffer.byteLength(body) },
        timeout: 5_000,
      },
      (response) => {
        response.resume();
        response.on("end", resolve);
      },
    );
    request.on("error", () => resolve());
    request.on("timeout", () => request.destroy());
    request.end(body);
  });
}

/** What a command hands the background host it starts (through an owner-only file, not argv, which every user can read). */
export interface BackgroundHostSpec {
  dir: string;
  serve: Omit<ServeOptions, "socket" | "host" | "onEmpty" | "port">;
}

/** Runs the background host until it stops; then the process exits. */
export async function runBackgroundHost(spec: BackgroundHostSpec): Promise<void> {
  const host = await runHost({ kind: "background", dir: spec.dir, serve: { ...spec.serve, port: null } });
  if (!host) return;
  await host.done;
}
