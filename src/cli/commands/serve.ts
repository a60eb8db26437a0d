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
  parallel?: number;
  maxLoadedModels?: number;
  name?: string;
  keepAlive: string;
  allowOrigin: string[];
  logLevel?: string;
  quiet?: boolean;
}

/**
 * `builder serve`: the machine's Builder host in the foreground, on a TCP port as well as its socket:
 * Ollama's REST API (and OpenAI's chat completions) over the embedded engine, shared with Builder's own
 * commands. A background host hands over to it. Prints one JSON line with the URL on stdout once it
 * listens, and runs until interrupted.
 */
export function serveCommand(): Command {
  const command = new Command("serve").description(
    "Run the Builder host in the foreground: the model over Ollama's REST API and OpenAI's /v1/chat/completions, shared with Builder's commands",
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
      "requests generating at the same time per model (each has its own num_ctx window); more wait (default: num_parallel, 1)",
      toInt("--parallel"),
    )
    .option(
      "--max-loaded-models <n>",
      "models loaded side by side at most; more unload the least recently used idle one (default: max_loaded_models, 3)",
      toInt("--max-loaded-models"),
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
    .option(
      "--num-ctx <tokens>",
      "context window per parallel request, loaded at start; clients on the port get at most this one",
      toInt("--num-ctx"),
    )
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
  // The same setting checks as `builder run`, before anything loads: serve generates for every client.
  warnRunPitfalls(config);
  // A model to serve is required (a missing one is MODEL_NOT_CONFIGURED); hf: and URLs download first.
  const { resolveModelPath } = await import("../../models/resolve-model.js");
  await resolveModelPath(config.model, { cacheDir: config.modelCacheDir });
  const { runHost } = await import("../../server/host-process.js");
  const { hostDir } = await import("../../backends/host/host-files.js");
  const parallel = flags.parallel ?? config.engine?.parallel ?? 1;
  const host = await runHost({
    kind: "serve",
    dir: hostDir(config),
    serve: {
      config,
      bindAddress: flags.host,
      port: flags.port,
      parallel,
      maxLoadedModels: flags.maxLoadedModels ?? config.engine?.maxLoadedModels,
      // --num-ctx bounds what clients on the port get (Ollama clients often send a num_ctx the machine cannot hold).
      windowCap: flags.numCtx,
      modelName: flags.name,
      keepAlive: flags.keepAlive,
      allowOrigins: [...flags.allowOrigin, ...originsFromEnv(process.env.BUILDER_ORIGINS)],
    },
  });
  if (!host) return;
  const { server } = host;
  const served = server.served;
  const residency = served ? server.modelHost.residencyOf(served) : undefined;
  process.stdout.write(
    JSON.stringify({
      url: server.url,
      model: served?.name ?? null,
      parallel,
      num_ctx: residency?.contextSize ?? null,
      socket: host.paths.socket,
      pid: process.pid,
    }) + "\n",
  );
  await host.done;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
