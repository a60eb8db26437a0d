import { warnRunPitfalls } from "../../doctor/run-warnings.js";
import { Command } from "commander";
import { originsFromEnv } from "../../server/access-control.js";
import { DEFAULT_SERVE_PORT } from "../../server/defaults.js";
import { configFromFlags, logLevelOption, toInt, toThreads } from "../shared-options.js";

interface ServeFlags {
  config?: string;
  model?: string;
  numCtx?: number;
  threads?: number;
  gpuLayers?: number;
  port: number;
  host: string;
  parallel: number;
  name?: string;
  keepAlive: string;
  allowOrigin: string[];
  logLevel?: string;
  quiet?: boolean;
}

/**
 * `builder serve`: Ollama's REST API (and OpenAI's chat completions) over the embedded engine. Prints
 * one JSON line with the URL on stdout once it listens, and runs until interrupted.
 */
export function serveCommand(): Command {
  const command = new Command("serve").description(
    "Serve the model over Ollama's REST API and OpenAI's /v1/chat/completions (the embedded engine behind them)",
  );
  addServeOptions(command);
  return command.action(serve);
}

/** The options of `builder serve`: the server's (address, parallel requests, origins) and the engine's. */
function addServeOptions(command: Command): void {
  command
    .option("-c, --config <file>", "builder.config.json to use (default: found by walking up from the current folder)")
    .option("--model <ref>", "GGUF path, hf: URI or URL")
    .option("--name <name>", "the model's name for clients (default: the GGUF file name, e.g. qwen2.5-coder:latest)")
    .option("-p, --port <port>", "port to listen on (0 picks a free one)", toInt("--port"), DEFAULT_SERVE_PORT)
    .option(
      "--host <address>",
      "address to bind (anything but loopback is reachable by others: no authentication)",
      "127.0.0.1",
    )
    .option(
      "--parallel <n>",
      "requests generating at the same time (each has its own num_ctx window); more wait",
      toInt("--parallel"),
      1,
    )
    .option(
      "--keep-alive <duration>",
      "how long the model stays loaded after a request without keep_alive (5m, 1h, -1 forever)",
      "5m",
    )
    .option(
      "--allow-origin <origin>",
      "a web origin allowed besides loopback ones (repeatable; * wildcards, as OLLAMA_ORIGINS; also BUILDER_ORIGINS)",
      collect,
      [],
    )
    .option("--num-ctx <tokens>", "context window per parallel request", toInt("--num-ctx"))
    .option(
      "--threads <n>",
      "CPU threads, a positive whole number (default, or 0 / auto: measured once per machine and model)",
      toThreads,
    )
    .option("--gpu-layers <n>", "layers to offload to the GPU", toInt("--gpu-layers"))
    .addOption(logLevelOption())
    .option("-q, --quiet", "only warnings and errors on stderr");
}

/** Starts the server, prints its URL line, and runs until SIGINT or SIGTERM closes it. */
async function serve(flags: ServeFlags): Promise<void> {
  const config = configFromFlags({
    config: flags.config,
    backend: "embedded",
    model: flags.model,
    numCtx: flags.numCtx,
    threads: flags.threads,
    gpuLayers: flags.gpuLayers,
    logLevel: flags.logLevel,
    quiet: flags.quiet,
  });
  // The same setting checks as `builder run`: serve loads the model and generates for every client.
  warnRunPitfalls(config);
  const { startServer } = await import("../../server/server.js");
  const server = await startServer({
    config,
    bindAddress: flags.host,
    port: flags.port,
    parallel: flags.parallel,
    modelName: flags.name,
    keepAlive: flags.keepAlive,
    allowOrigins: [...flags.allowOrigin, ...originsFromEnv(process.env.BUILDER_ORIGINS)],
  });
  process.stdout.write(
    JSON.stringify({
      url: server.url,
      model: server.modelHost.name,
      parallel: flags.parallel,
      num_ctx: server.modelHost.facts.contextSize,
    }) + "\n",
  );
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      void server.close().then(resolve, resolve);
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
