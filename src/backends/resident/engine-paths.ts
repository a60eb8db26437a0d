import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync } from "node:fs";
import { stat } from "node:fs/promises";
import path from "node:path";
import type { BuilderConfig } from "../../config/load.js";
import { deviceSelection } from "../embedded/device-selection.js";

/** Longest Unix socket path Linux and macOS accept (sun_path), minus the terminator. */
const MAX_SOCKET_PATH = 103;

/**
 * The folder that holds resident engines' sockets, info and log files: `BUILDER_ENGINE_DIR`, else
 * `$XDG_RUNTIME_DIR/builder`, else `engines/` beside the model cache. Created owner-only (0700).
 */
export function engineDir(config: Pick<BuilderConfig, "modelCacheDir">, env: NodeJS.ProcessEnv = process.env): string {
  if (env.BUILDER_ENGINE_DIR) return path.resolve(env.BUILDER_ENGINE_DIR);
  if (env.XDG_RUNTIME_DIR) return path.join(env.XDG_RUNTIME_DIR, "builder");
  return path.join(path.dirname(config.modelCacheDir), "engines");
}

/** Makes `dir` and checks that only its owner can enter it: sockets in it accept anyone who can reach them. */
export function ensurePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  if (!info.isDirectory() || (typeof process.getuid === "function" && info.uid !== process.getuid())) {
    throw new Error(`${dir} is not a folder owned by this user`);
  }
  if ((info.mode & 0o077) !== 0) chmodSync(dir, 0o700);
}

/** The files of one resident engine. */
export interface EnginePaths {
  id: string;
  socket: string;
  info: string;
  lock: string;
  log: string;
}

/** Paths of the engine with id `id` in `dir`. */
export function enginePaths(dir: string, id: string): EnginePaths {
  const socket = path.join(dir, `${id}.sock`);
  if (socket.length > MAX_SOCKET_PATH)
    throw new Error(
      `the engine socket path ${socket} is longer than ${MAX_SOCKET_PATH} characters; set BUILDER_ENGINE_DIR to a shorter folder`,
    );
  return {
    id,
    socket,
    info: path.join(dir, `${id}.json`),
    lock: path.join(dir, `${id}.lock`),
    log: path.join(dir, `${id}.log`),
  };
}

/**
 * One engine per model file and engine settings: the id hashes the model's path, size and mtime and
 * every setting that changes how it is loaded, the GPUs it may use included (a rebuilt model file gets a new engine).
 */
export async function engineId(
  modelPath: string,
  config: Pick<BuilderConfig, "gpu" | "gpuIndex" | "options" | "engine">,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const file = await stat(modelPath);
  const o = config.options;
  const settings = {
    model: modelPath,
    size: file.size,
    mtime: file.mtimeMs,
    gpu: config.gpu,
    devices: deviceSelection(config.gpuIndex, env),
    num_ctx: o.num_ctx,
    num_batch: o.num_batch,
    num_thread: o.num_thread,
    gpu_layers: o.gpu_layers,
    use_mmap: o.use_mmap,
    use_mlock: o.use_mlock,
    speculative: config.engine?.speculative,
    prefix_cache: config.engine?.prefixCacheMaxBytes,
  };
  return createHash("sha256").update(JSON.stringify(settings)).digest("hex").slice(0, 16);
}

/** The hidden first argument that makes `node dist/cli/main.js` a resident engine instead of the CLI. */
export const ENGINE_DAEMON_ARG = "__engine-daemon";

/** Whether a process with this id exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
