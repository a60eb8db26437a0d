import type { IncomingMessage, ServerResponse } from "node:http";
import { isIP } from "node:net";
import { hostname, networkInterfaces } from "node:os";

/**
 * Who may talk to `builder serve`, as Ollama decides it (envconfig.AllowedOrigins and
 * allowedHostsMiddleware): a browser page on a foreign site must not drive the model, and a DNS
 * rebinding attack (a foreign name resolving to 127.0.0.1) must not read its answers. So the `Host`
 * header must name this machine, and a request that carries an `Origin` must come from an allowed one.
 */

/** Origins allowed without configuration: loopback web pages and the app schemes Ollama allows. */
export const DEFAULT_ALLOWED_ORIGINS: readonly string[] = [
  ...["localhost", "127.0.0.1", "0.0.0.0"].flatMap((host) => [
    `http://${host}`,
    `https://${host}`,
    `http://${host}:*`,
    `https://${host}:*`,
  ]),
  "app://*",
  "file://*",
  "tauri://*",
  "vscode-webview://*",
  "vscode-file://*",
];

/** Request headers a browser may send cross-origin (Ollama's list, plus the OpenAI SDK's). */
const ALLOWED_HEADERS =
  "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-retry-count, x-stainless-runtime, x-stainless-runtime-version, x-stainless-timeout";
const ALLOWED_METHODS = "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS";

/** Splits `BUILDER_ORIGINS` (comma-separated, as `OLLAMA_ORIGINS`) into origins. */
export function originsFromEnv(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((origin) => origin.trim())
    .filter((origin) => origin !== "");
}

/** The decision for one request. */
export type AccessDecision = { allowed: true; corsOrigin?: string } | { allowed: false; reason: string };

/** Checks `Host` and `Origin` of each request against what the server was started to accept. */
export class AccessControl {
  private readonly origins: RegExp[];
  private readonly hosts: Set<string>;

  /**
   * @param bind the address the server listens on: it is an allowed `Host` itself; on 0.0.0.0 / ::
   *   the machine's own addresses and name are too (that is how others on the network reach it).
   * @param extraOrigins `--allow-origin` and `BUILDER_ORIGINS` entries; `*` wildcards as in Ollama.
   */
  constructor(bind: string, extraOrigins: readonly string[] = []) {
    this.origins = [...extraOrigins, ...DEFAULT_ALLOWED_ORIGINS].map(wildcardPattern);
    this.hosts = new Set(["localhost", "::1", stripBrackets(bind).toLowerCase()]);
    if (isUnspecified(bind)) {
      this.hosts.add(hostname().toLowerCase());
      for (const entries of Object.values(networkInterfaces()))
        for (const entry of entries ?? []) this.hosts.add(entry.address.toLowerCase());
    }
  }

  /** Whether `request` may be served, and the origin to echo in CORS headers. */
  decide(request: IncomingMessage): AccessDecision {
    const host = hostWithoutPort(request.headers.host ?? "");
    if (!this.hostAllowed(host)) {
      return {
        allowed: false,
        reason: `host "${host}" is not allowed: builder serve answers requests addressed to this machine only (localhost, a loopback address or the address it listens on)`,
      };
    }
    const origin = request.headers.origin;
    if (origin === undefined) return { allowed: true };
    if (!this.origins.some((pattern) => pattern.test(origin))) {
      return {
        allowed: false,
        reason: `origin "${origin}" is not allowed: start builder serve with --allow-origin ${origin} (or BUILDER_ORIGINS) to let that site use it`,
      };
    }
    return { allowed: true, corsOrigin: origin };
  }

  private hostAllowed(host: string): boolean {
    // HTTP/1.0 clients may send no Host at all; a rebinding browser always sends one.
    if (host === "") return true;
    if (this.hosts.has(host) || host.endsWith(".localhost")) return true;
    return isIP(host) === 4 ? host.startsWith("127.") : false;
  }
}

/**
 * Applies {@link AccessControl} to one request: answers 403 (Ollama's error body) when refused, the
 * CORS preflight (204) when allowed, and adds CORS headers otherwise. Returns whether to go on.
 */
export function admitRequest(access: AccessControl, request: IncomingMessage, response: ServerResponse): boolean {
  const decision = access.decide(request);
  if (!decision.allowed) {
    const body = JSON.stringify({ error: decision.reason });
    response.writeHead(403, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
    response.end(body);
    return false;
  }
  if (decision.corsOrigin !== undefined) {
    response.setHeader("access-control-allow-origin", decision.corsOrigin);
    response.setHeader("vary", "Origin");
  }
  if (request.method === "OPTIONS") {
    response.writeHead(204, {
      "access-control-allow-methods": ALLOWED_METHODS,
      "access-control-allow-headers": ALLOWED_HEADERS,
      "access-control-max-age": "43200",
    });
    response.end();
    return false;
  }
  return true;
}

function wildcardPattern(origin: string): RegExp {
  if (origin === "*") return /^.*$/;
  const escaped = origin.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*");
  return new RegExp(`^${escaped}$`, "i");
}

function hostWithoutPort(header: string): string {
  const host = header.trim().toLowerCase();
  if (host.startsWith("[")) return host.slice(1, host.indexOf("]") === -1 ? undefined : host.indexOf("]"));
  const colon = host.lastIndexOf(":");
  // A bare IPv6 address has several colons and no port.
  return colon !== -1 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

function stripBrackets(host: string): string {
  return host.replace(/^\[|\]$/g, "");
}

function isUnspecified(bind: string): boolean {
  const host = stripBrackets(bind);
  return host === "0.0.0.0" || host === "::" || host === "";
}
