import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BuilderConfig } from "../config/load.js";
import { UsageError } from "../errors/errors.js";
import { getLogger } from "../telemetry/logger.js";
import { AccessControl, admitRequest } from "./access-control.js";
import { DEFAULT_KEEP_ALIVE_MS, parseKeepAlive } from "../format/keep-alive.js";
import { ModelHost } from "./model-host.js";
import { dispatch } from "./router.js";

import { DEFAULT_SERVE_PORT } from "./defaults.js";

export { DEFAULT_SERVE_PORT };

/** Options for {@link startServer}. */
export interface ServeOptions {
  /** The model (a GGUF reference) and its load options. */
  config: BuilderConfig;
  /** Address to bind (`--host`); default 127.0.0.1. Anything but loopback is logged as a warning. */
  bindAddress?: string;
  /** Port; default 11435; 0 picks a free one. */
  port?: number;
  /** Parallel sequences (requests generating at the same time); default 1, more queue. */
  parallel?: number;
  /** The model's name for clients; default: the GGUF file's base name. */
  modelName?: string;
  /** How long the model stays loaded after a request without `keep_alive`; default "5m". */
  keepAlive?: string | number;
  /** Web origins allowed besides the loopback ones (`--allow-origin`, `BUILDER_ORIGINS`); `*` wildcards. */
  allowOrigins?: readonly string[];
}

/** A running `builder serve`. */
export interface RunningServer {
  /** "http://127.0.0.1:11435" */
  url: string;
  port: number;
  /** The loaded model and its sequences. */
  modelHost: ModelHost;
  close(): Promise<void>;
}

/**
 * Starts Ollama's REST API (and OpenAI's chat completions) over the embedded engine: loads the model,
 * then listens. Requests beyond `parallel` wait for a free sequence.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const logger = getLogger();
  const bind = options.bindAddress ?? "127.0.0.1";
  const parallel = options.parallel ?? 1;
  if (!Number.isInteger(parallel) || parallel < 1)
    throw new UsageError(`--parallel must be a whole number of at least 1, got ${parallel}.`);
  const keepAliveMs = options.keepAlive === undefined ? DEFAULT_KEEP_ALIVE_MS : parseKeepAlive(options.keepAlive);
  if (keepAliveMs === undefined)
    throw new UsageError(
      `--keep-alive "${String(options.keepAlive)}" is not a duration. Use e.g. 5m, 1h, 300 (seconds) or -1 (forever).`,
    );
  const modelHost = await ModelHost.start({
    config: options.config,
    sequences: parallel,
    name: options.modelName,
    defaultKeepAliveMs: keepAliveMs,
  });
  const access = new AccessControl(bind, options.allowOrigins);
  const server = createServer((request, response) => {
    if (admitRequest(access, request, response)) void dispatch(request, response, { modelHost });
  });
  try {
    await listen(server, options.port ?? DEFAULT_SERVE_PORT, bind);
  } catch (error) {
    await modelHost.close();
    throw new UsageError(
      `builder serve cannot listen on ${bind}:${options.port ?? DEFAULT_SERVE_PORT}: ${(error as Error).message}. Choose another --port (0 picks a free one).`,
    );
  }
  if (!isLoopback(bind)) {
    logger.warn(
      { host: bind },
      `builder serve listens on ${bind}, beyond this machine: anyone who can reach it can use the model (there is no authentication)`,
    );
  }
  const port = (server.address() as AddressInfo).port;
  const url = `http://${bind.includes(":") ? `[${bind}]` : bind}:${port}`;
  logger.info(
    { url, model: modelHost.name, parallel, context: modelHost.facts.contextSize },
    "builder serve listening",
  );
  return {
    url,
    port,
    modelHost,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await modelHost.close();
    },
  };
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
