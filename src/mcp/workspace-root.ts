import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import type { Logger } from "pino";

/** How long to wait for the client's roots before working in the server's own workspace. */
const ROOTS_TIMEOUT_MS = 5000;

/** Whether `inner` is `outer` or a folder below it. */
function within(inner: string, outer: string): boolean {
  const relative = path.relative(outer, inner);
  return relative === "" || (!relative.startsWith("..") && !path.isAbsolute(relative));
}

/**
 * The workspace of a call. A client that offers roots (`roots/list`) decides: the server's own
 * workspace when it lies within one of them, else the first `file://` root. A client without roots
 * gets the server's workspace (`--workspace`, else the folder `builder mcp` started in). Either way
 * every path a tool touches goes through the sandbox of that one folder: never outside it.
 */
export async function callWorkspace(server: Server, fallback: string, logger: Logger): Promise<string> {
  if (!server.getClientCapabilities()?.roots) return fallback;
  let uris: string[];
  try {
    const { roots } = await server.listRoots(undefined, { timeout: ROOTS_TIMEOUT_MS });
    uris = roots.map((r) => r.uri);
  } catch (error) {
    logger.warn({ err: error }, `the client did not list its roots; working in ${fallback}`);
    return fallback;
  }
  const folders = uris.filter((uri) => uri.startsWith("file://")).map((uri) => fileURLToPath(uri));
  if (folders.length === 0) return fallback;
  if (folders.some((folder) => within(path.resolve(fallback), path.resolve(folder)))) return fallback;
  return path.resolve(folders[0] as string);
}
