import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, openSync, writeFileSync } from "node:fs";
import { stat, unlink } from "node:fs/promises";
import path from "node:path";
import { DEFAULT_SERVER_TIMEOUTS } from "../../config/load.js";
import { getLogger } from "../../telemetry/logger.js";
import { packagePath } from "../../package-root.js";
import { VERSION } from "../../version.js";
import type { BackendConfig } from "../types.js";
import {
  ensurePrivateDir,
  HOST_DAEMON_ARG,
  hostDir,
  hostPaths,
  readHostRecord,
  recordIsLive,
  removeStaleFiles,
  staleReason,
  type HostPaths,
  type HostRecord,
} from "./host-files.js";
import { callHost, HostUnavailable } from "./host-http.js";

/** The CLI entry point the host process runs: the bundled `builder` (from src/ in tests too, so run the build first). */
const CLI_MAIN = packagePath("dist/cli/main.js");

let warnedVersion = false;

/** How long a running host has to answer `GET /api/version`. */
const PING_MS = 5_000;

/** A record this young that cannot be read is being written; an older one is garbage. */
const UNREADABLE_GRACE_MS = 2_000;

/** A host that answers on its socket. */
export interface HostEndpoint {
  paths: HostPaths;
  /** Its record, when readable (pid and start time, kind). */
  record: HostRecord | undefined;
  /** Whether this call started it. */
  started: boolean;
}

/**
 * The machine's Builder host, started in the background when none runs: a live host's socket is
 * used as it is; one that is starting (its record's process lives, its socket does not answer yet) is
 * waited for; the leftovers of one that is gone, or whose pid now belongs to another process, are
 * removed (never signalled) and a new host is started. A host that holds its socket but does not
 * answer (hung) is {@link HostUnavailable}, as is one that cannot start.
 */
export async function connectHost(config: BackendConfig, env: NodeJS.ProcessEnv = process.env): Promise<HostEndpoint> {
  const dir = hostDir(config, env);
  ensurePrivateDir(dir);
  const paths = hostPaths(dir);
  const deadline = Date.now() + DEFAULT_SERVER_TIMEOUTS.loadMs;
  let child: { process: ChildProcess; exited: boolean } | undefined;
  while (Date.now() < deadline) {
    const answer = await ping(paths);
    if (answer === "answers") return { paths, record: await liveRecord(paths), started: child !== undefined };
    if (answer === "hung") throw new HostUnavailable(`the Builder host at ${paths.socket} does not answer (hung)`);
    const record = await readHostRecord(paths);
    if (record !== undefined && record !== "unreadable" && recordIsLive(record)) {
      // Starting (or loading `builder serve`'s model before it listens): wait for it.
    } else if (record === "unreadable" && (await ageMs(paths.record)) < UNREADABLE_GRACE_MS) {
      // Being written by the host that just created it.
    } else if (child && !child.exited) {
      // Ours is starting and has not taken the lock yet.
    } else if (child?.exited) {
      throw new HostUnavailable(`the Builder host exited while starting (see ${paths.log})`);
    } else {
      if (record !== undefined && record !== "unreadable")
        getLogger().info({ record: paths.record }, `removing a stale host record: ${staleReason(record)}`);
      await removeStaleFiles(paths, record === "unreadable" ? undefined : record);
      child = startHost(paths, config, env);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new HostUnavailable(
    `the Builder host did not start within ${DEFAULT_SERVER_TIMEOUTS.loadMs} ms (see ${paths.log})`,
  );
}

/** Whether the socket answers, is absent (nothing listens), or holds a host that does not answer. */
async function ping(paths: HostPaths): Promise<"answers" | "absent" | "hung"> {
  try {
    const reply = await callHost(paths.socket, { method: "GET", path: "/api/version", idleMs: PING_MS });
    if (reply.body.version !== VERSION && !warnedVersion) {
      warnedVersion = true;
      getLogger().warn(
        { host_version: reply.body.version, version: VERSION },
        `the running Builder host is version ${String(reply.body.version)}, this command ${VERSION}: builder stop restarts it with this version`,
      );
    }
    return "answers";
  } catch (error) {
    const code = error instanceof HostUnavailable ? error.code : undefined;
    if (code === "ENOENT" || code === "ECONNREFUSED" || code === "ENOTSOCK") return "absent";
    if (code === "ETIMEDOUT") return "hung";
    return "absent";
  }
}

async function ageMs(file: string): Promise<number> {
  const info = await stat(file).catch(() => undefined);
  return info ? Date.now() - info.mtimeMs : Infinity;
}

async function liveRecord(paths: HostPaths): Promise<HostRecord | undefined> {
  const record = await readHostRecord(paths);
  return record === "unreadable" ? undefined : record;
}

/** Starts the background host, detached, its log in the host folder; its settings go through an owner-only file. */
function startHost(
  paths: HostPaths,
  config: BackendConfig,
  env: NodeJS.ProcessEnv,
): { process: ChildProcess; exited: boolean } {
  const engine = config.engine;
  const keepAliveMs = engine?.keepAliveMs ?? 300_000;
  const spec = {
    dir: paths.dir,
    serve: {
      // The host loads what each request names; the configuration gives the runtime and caches.
      config: { ...config, model: undefined },
      parallel: engine?.parallel ?? 1,
      maxLoadedModels: engine?.maxLoadedModels,
      keepAlive: Number.isFinite(keepAliveMs) ? `${Math.round(keepAliveMs)}ms` : -1,
    },
  };
  const specFile = path.join(paths.dir, `host.${process.pid}.${Date.now()}.spec`);
  writeFileSync(specFile, JSON.stringify(spec), { mode: 0o600 });
  const log = openSync(paths.log, "a", 0o600);
  try {
    const child = spawn(process.execPath, [CLI_MAIN, HOST_DAEMON_ARG, specFile], {
      detached: true,
      stdio: ["ignore", log, log],
      env: { ...env, BUILDER_LOG_LEVEL: env.BUILDER_LOG_LEVEL ?? "info" },
    });
    const state = { process: child, exited: false };
    child.unref();
    child.on("error", () => (state.exited = true));
    child.once("exit", () => {
      state.exited = true;
      void unlink(specFile).catch(() => undefined);
    });
    getLogger().info({ pid: child.pid, log: paths.log }, "starting the Builder host");
    return state;
  } finally {
    closeSync(log);
  }
}
