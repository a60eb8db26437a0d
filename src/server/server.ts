import { chmod, unlink } from "node:fs/promises";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { BuilderConfig } from "../config/load.js";
import { UsageError } from "../errors/errors.js";
import { getLogger } from "../telemetry/logger.js";
import { AccessControl, admitRequest } from "./access-control.js";
import { DEFAULT_KEEP_ALIVE_MS, parseKeepAlive } from "../format/keep-alive.js";
import { resolveModelPath } from "../models/resolve-model.js";
import { loadSettingsFrom } from "./hosted-model.js";
import { ModelHost, type HostedModel } from "./model-host.js";
import type { HostControl } from "./route-context.js";
import { dispatch } from "./router.js";

import { DEFAULT_SERVE_PORT } from "./defaults.js";

export { DEFAULT_SERVE_PORT };

/** Options for {@link startServer}. */
export interface ServeOptions {
  /** The runtime and caches, and the model to serve from the start (`--model`), if any, with its load options. */
  config: BuilderConfig;
  /** Address to bind (`--host`); default 127.0.0.1. Anything but loopback is logged as a warning. */
  bindAddress?: string;
  /** Port; default 11435; 0 picks a free one; null: no TCP port (the background host: its socket only). */
  port?: number | null;
  /** Parallel sequences per model (requests generating at the same time); default 1, more queue. */
  parallel?: number;
  /** The model's name for clients; default: the GGUF file's base name. */
  modelName?: string;
  /** How long a model stays loaded after a request without `keep_alive`; default "5m". */
  keepAlive?: string | number;
  /** Web origins allowed besides the loopback ones (`--allow-origin`, `BUILDER_ORIGINS`); `*` wildcards. */
  allowOrigins?: readonly string[];
  /** Models loaded side by side at most (`max_loaded_models`); default 3. */
  maxLoadedModels?: number;
  /**
   * The largest window a request on the TCP port may have (`builder serve --num-ctx`): clients'
   * larger num_ctx get this one. Undefined: a larger num_ctx reloads the model, as Ollama does.
   */
  windowCap?: number;
  /** The owner-only Unix socket to listen on as well (the caller holds the host lock); undefined: none. */
  socket?: string;
  /** What `/api/ps` and `/builder/shutdown` learn about the host process. */
  host?: HostControl;
  /** Told when nothing is loaded and nothing runs. */
  onEmpty?: () => void;
}

/** A running host: `builder serve`, the background host, or a test's server. */
export interface RunningServer {
  /** "http://127.0.0.1:11435"; undefined without a TCP port. */
  url: string | undefined;
  port: number | undefined;
  /** The models and their loaded copies. */
  modelHost: ModelHost;
  /** The model given at the start (`--model`), loaded already. */
  served: HostedModel | undefined;
  /** Requests being answered now. */
  readonly inFlight: number;
  /** Stops taking connections (the socket and the port); answers under way go on. */
  stopListening(): void;
  close(): Promise<void>;
}

/**
 * Starts the host: Ollama's REST API (and OpenAI's chat completions, llama.cpp server's `/tokenize`)
 * over the embedded engine, on a TCP port and/or the owner-only socket. With a configured model, loads
 * it first (a bad model fails the start); other models load on request.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { modelHost, served } = await createModelHost(options);
  const bind = options.bindAddress ?? "127.0.0.1";
  const access = new AccessControl(bind, options.allowOrigins);
  let inFlight = 0;
  const track = (response: ServerResponse): void => {
    inFlight++;
    response.once("close", () => inFlight--);
  };
  const servers: Server[] = [];
  if (options.socket !== undefined) {
    const context = { modelHost, transport: "socket" as const, host: options.host };
    const socketServer = createServer((request, response) => {
      track(response);
      void dispatch(request, response, context);
    });
    servers.push(await listenOnSocket(socketServer, options.socket, modelHost));
  }
  let port: number | undefined;
  if (options.port !== null) {
    const context = { modelHost, transport: "tcp" as const, host: options.host, windowCap: options.windowCap };
    const tcp = createServer((request, response) => {
      track(response);
      if (admitRequest(access, request, response)) void dispatch(request, response, context);
    });
    port = await listenOnPort(tcp, options.port ?? DEFAULT_SERVE_PORT, bind, modelHost, servers);
    servers.push(tcp);
  }
  const url = port === undefined ? undefined : `http://${bind.includes(":") ? `[${bind}]` : bind}:${port}`;
  getLogger().info(
    { url, socket: options.socket, models: modelHost.models.map((m) => m.name), parallel: modelHost.sequences },
    url ? "builder serve listening" : "Builder host listening",
  );
  return {
    url,
    port,
    modelHost,
    served,
    get inFlight() {
      return inFlight;
    },
    stopListening: () => servers.forEach((server) => server.close()),
    close: async () => {
      await Promise.all(servers.map((server) => closeServer(server)));
      await modelHost.close();
    },
  };
}

/** The model host, with the configured model loaded (for `builder serve --model`). */
async function createModelHost(options: ServeOptions): Promise<{ modelHost: ModelHost; served?: HostedModel }> {
  const parallel = options.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new UsageError(`--parallel must be a whole number of at least 1, got ${parallel}.`);
  const keepAliveMs = options.keepAlive === undefined ? DEFAULT_KEEP_ALIVE_MS : parseKeepAlive(options.keepAlive);
  if (keepAliveMs === undefined)
    throw new UsageError(
      `--keep-alive "${String(options.keepAlive)}" is not a duration. Use e.g. 5m, 1h, 300 (seconds) or -1 (forever).`,
    );
  const { config } = options;
  const modelHost = new ModelHost({
    config,
    sequences: parallel,
    defaultKeepAliveMs: keepAliveMs,
    maxLoadedModels: options.maxLoadedModels,
    onEmpty: options.onEmpty,
  });
  if (config.model === undefined) return { modelHost };
  const modelPath = await resolveModelPath(config.model, { cacheDir: config.modelCacheDir });
  const served = modelHost.register(modelPath, loadSettingsFrom(config.options), options.modelName);
  await modelHost.preload(served);
  return { modelHost, served };
}

/** Listens on the owner-only socket (a stale socket file is replaced: the caller holds the host lock). */
async function listenOnSocket(server: Server, socket: string, modelHost: ModelHost): Promise<Server> {
  await unlink(socket).catch(() => undefined);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(socket, () => {
        server.off("error", reject);
        resolve();
      });
    });
    await chmod(socket, 0o600);
  } catch (error) {
    await modelHost.close();
    throw new UsageError(`the Builder host cannot listen on ${socket}: ${(error as Error).message}.`);
  }
  return server;
}

async function listenOnPort(
  server: Server,
  port: number,
  bind: string,
  modelHost: ModelHost,
  others: Server[],
): Promise<number> {
  try {
    await listen(server, port, bind);
  } catch (error) {
    await Promise.all(others.map((other) => closeServer(other)));
    await modelHost.close();
    throw new UsageError(
      `builder serve cannot listen on ${bind}:${port}: ${(error as Error).message}. Choose another --port (0 picks a free one).`,
    );
  }
  if (!isLoopback(bind)) {
    getLogger().warn(
      { host: bind },
      `builder serve listens on ${bind}, beyond this machine: anyone who can reach it can use the model (there is no authentication)`,
    );
  }
  return (server.address() as AddressInfo).port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

function listen(server: Server, port: number, bindAddress: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, bindAddress, () => {
      server.off("error", reject);
      resolve();
    });
  });
}

/** Whether a bind address only accepts connections from this machine. */
export function isLoopback(bindAddress: string): boolean {
  return bindAddress === "localhost" || bindAddress === "::1" || /^127\.\d+\.\d+\.\d+$/.test(bindAddress);
}
