import { request as httpRequest, type IncomingMessage } from "node:http";
import { BuilderError, type BuilderErrorCode } from "../../errors/errors.js";

/**
 * The Builder host cannot be used (no host, it died, it hung). Not a user-facing error: the backend
 * starts a host or goes on in-process when it sees one. `code` is the socket error, if any (ENOENT,
 * ECONNREFUSED: nothing listens).
 */
export class HostUnavailable extends Error {
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "HostUnavailable";
  }
}

/** One HTTP request to the host over its Unix socket. */
export interface HostCall {
  method: "GET" | "POST";
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** Silence longer than this (no byte of the answer) means the host hung. */
  idleMs: number;
  signal?: AbortSignal;
  /** Streamed answers (NDJSON): called with each line's object as it comes. */
  onLine?: (value: Record<string, unknown>) => void;
}

/** A finished call: the status and the body (the last line of a streamed answer). */
export interface HostReply {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Sends `call` to the host at `socket`. Connection failures, a connection closed before the answer
 * ends, and silence past `idleMs` are {@link HostUnavailable}; an error body (`{"error", "code",
 * "details"}`, in one object or as a stream's last line) is rethrown as the Builder error it names.
 */
export function callHost(socket: string, call: HostCall): Promise<HostReply> {
  return new Promise((resolve, reject) => {
    const payload = call.body === undefined ? undefined : JSON.stringify(call.body);
    let settled = false;
    const finish = (error: Error | undefined, reply?: HostReply): void => {
      if (settled) return;
      settled = true;
      clearTimeout(watchdog);
      call.signal?.removeEventListener("abort", onAbort);
      if (error) reject(error);
      else resolve(reply as HostReply);
    };
    const request = httpRequest({
      socketPath: socket,
      path: call.path,
      method: call.method,
      agent: false,
      headers: {
        host: "localhost",
        ...(payload !== undefined
          ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(payload)) }
          : {}),
        ...call.headers,
      },
    });
    let watchdog: NodeJS.Timeout | undefined;
    const arm = (): void => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        request.destroy();
        finish(new HostUnavailable(`the Builder host sent nothing for ${call.idleMs} ms (hung)`, "ETIMEDOUT"));
      }, call.idleMs);
    };
    const onAbort = (): void => {
      request.destroy();
      finish(new HostUnavailable("aborted", "ABORT_ERR"));
    };
    call.signal?.addEventListener("abort", onAbort, { once: true });
    request.on("error", (error: NodeJS.ErrnoException) =>
      finish(new HostUnavailable(`the Builder host's socket failed: ${error.message}`, error.code)),
    );
    request.on("response", (response) => {
      arm();
      readReply(response, call, arm).then(
        (reply) => finish(undefined, reply),
        (error: Error) => finish(error),
      );
    });
    arm();
    request.end(payload);
  });
}

/** Reads the answer, line by line (each line resets the watchdog through `arm`). */
function readReply(response: IncomingMessage, call: HostCall, arm: () => void): Promise<HostReply> {
  return new Promise((resolve, reject) => {
    let buffer = "";
    let last: Record<string, unknown> | undefined;
    let failed = false;
    const takeLine = (line: string): void => {
      if (line.trim() === "" || failed) return;
      let value: Record<string, unknown>;
      try {
        value = JSON.parse(line) as Record<string, unknown>;
      } catch {
        value = { error: `the Builder host answered something that is not JSON: ${line.slice(0, 200)}` };
      }
      last = value;
      if (value.error !== undefined) {
        failed = true;
        reject(errorFrom(value, response.statusCode ?? 500));
        return;
      }
      call.onLine?.(value);
    };
    response.setEncoding("utf8");
    response.on("data", (chunk: string) => {
      arm();
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        takeLine(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    });
    response.on("end", () => {
      takeLine(buffer);
      if (failed) return;
      if (last === undefined) reject(new HostUnavailable("the Builder host answered with an empty body"));
      // A streamed answer is complete only with its last line (`done: true`): anything less was cut off.
      else if (call.onLine && last.done !== true)
        reject(new HostUnavailable("the Builder host closed the connection mid-answer"));
      else resolve({ status: response.statusCode ?? 0, body: last });
    });
    response.on("aborted", () => reject(new HostUnavailable("the Builder host closed the connection mid-answer")));
    response.on("error", () => reject(new HostUnavailable("the Builder host closed the connection mid-answer")));
  });
}

/** The Builder error an error body names (its code, else one that fits the status). */
function errorFrom(body: Record<string, unknown>, status: number): BuilderError {
  const message = String(body.error);
  const details = (body.details ?? {}) as Record<string, unknown>;
  if (typeof body.code === "string") return new BuilderError(body.code as BuilderErrorCode, message, details);
  return new BuilderError(status === 400 ? "CONTEXT_OVERFLOW" : "BACKEND_ERROR", `the Builder host: ${message}`, {
    status,
  });
}
