import { BackendError, type BuilderError } from "../../errors/errors.js";
import { connectionFailure } from "../../http-client/http.js";
import { MalformedStreamError, TruncatedStreamError } from "../../http-client/stream-errors.js";
import { TIMEOUT_KEYS, type StreamWatchdog } from "../http-common/stream-watchdog.js";

/**
 * True for errors that mean "this endpoint is down" (nothing reached it, or it died before the first
 * token): an endpoint pool marks it down and fails over to another endpoint.
 */
export function isEndpointDown(error: unknown): boolean {
  return error instanceof BackendError && error.endpointDown;
}

/** What a failure message needs to know about the request. */
export interface FailureContext {
  /** "Ollama at http://127.0.0.1:11434", for messages. */
  server: string;
  endpoint: string;
  /** Config section whose timeout keys apply ("ollama" or "openai"). */
  section: "ollama" | "openai";
  /** What to do when nothing listens at the endpoint. */
  startHint: string;
  watchdog?: StreamWatchdog;
  /** Characters of the answer received before the failure. */
  receivedChars: number;
}

/**
 * Turns a transport failure (timeout, refused or dropped connection, malformed or cut stream) into a
 * Builder error that says what to do. Returns undefined for anything else (HTTP error answers are the
 * backend's to explain). `endpointDown` marks failures an endpoint pool may fail over from: nothing
 * of the answer had arrived yet.
 */
export function transportFailure(error: unknown, context: FailureContext): BuilderError | undefined {
  const { server, endpoint, receivedChars } = context;
  const facts = { endpoint, receivedChars };
  const timedOut = context.watchdog?.timedOut;
  if (timedOut) return timeoutFailure(error, context, timedOut);
  if (error instanceof MalformedStreamError) {
    const line = JSON.stringify(error.line.slice(0, 120));
    const message = `${server} sent a malformed stream line (not the JSON its API promises): ${line}. The answer was discarded; check that ${endpoint} is the right kind of server.`;
    return new BackendError("BACKEND_ERROR", message, facts, { cause: error });
  }
  if (error instanceof TruncatedStreamError) {
    const after = receivedChars > 0 ? ` after ${receivedChars} characters` : "";
    const message = `${server} ended the stream before its final message${after}: the answer is incomplete and was discarded. ${CHECK_LOG} and retry.`;
    return new BackendError(
      "BACKEND_ERROR",
      message,
      { ...facts, endpointDown: receivedChars === 0 },
      { cause: error },
    );
  }
  return connectionLost(error, context);
}

/** What to suggest when a server died or misbehaved mid-answer. */
const CHECK_LOG = "Check the server's log (crash, out of memory?)";

function timeoutFailure(
  error: unknown,
  context: FailureContext,
  timedOut: NonNullable<StreamWatchdog["timedOut"]>,
): BackendError {
  const { server, endpoint, receivedChars } = context;
  const key = `${context.section}.${TIMEOUT_KEYS[timedOut.phase]}`;
  const facts = {
    endpoint,
    receivedChars,
    endpointDown: timedOut.phase === "connect",
    extra: { timeout: key, timeout_ms: timedOut.ms },
  };
  const within = `within ${timedOut.ms} ms (${key})`;
  const message =
    timedOut.phase === "connect"
      ? `${server} did not answer a status request ${within}. Check that it is running and not overloaded, or raise ${key}.`
      : timedOut.phase === "load"
        ? `${server} sent no token ${within} while loading the model and reading the prompt. A first request that loads a large model can take minutes: raise ${key}.`
        : `${server} stopped sending the answer for ${timedOut.ms} ms (${key}) after ${receivedChars} characters; the incomplete answer was discarded. Raise ${key} for a slow server.`;
  return new BackendError("BACKEND_TIMEOUT", message, facts, { cause: error });
}

function connectionLost(error: unknown, context: FailureContext): BackendError | undefined {
  const { server, endpoint, receivedChars } = context;
  const failure = connectionFailure(error);
  if (failure === "refused") {
    const facts = { endpoint, receivedChars, reason: "connection_refused", endpointDown: true } as const;
    return new BackendError(
      "BACKEND_UNAVAILABLE",
      `Cannot reach ${server}: connection refused. ${context.startHint}`,
      facts,
      { cause: error },
    );
  }
  if (failure === "unreachable") {
    const facts = { endpoint, receivedChars, reason: "unreachable", endpointDown: true } as const;
    const message = `Cannot reach ${server}: the host is unknown or unreachable. Check the URL and the network. ${context.startHint}`;
    return new BackendError("BACKEND_UNAVAILABLE", message, facts, { cause: error });
  }
  if (failure !== "reset") return undefined;
  const facts = { endpoint, receivedChars, reason: "connection_lost", endpointDown: receivedChars === 0 } as const;
  if (receivedChars === 0) {
    const message = `${server} closed the connection before the first token (did it crash or restart?). Check the server's log and retry.`;
    return new BackendError("BACKEND_UNAVAILABLE", message, facts, { cause: error });
  }
  const message = `${server} closed the connection after ${receivedChars} characters of the answer; the incomplete answer was discarded. ${CHECK_LOG} and retry.`;
  return new BackendError("BACKEND_ERROR", message, facts, { cause: error });
}

/**
 * An HTTP error answer no backend has a better explanation for: a 4xx is the request's fault, anything
 * else the server's. A 503 (queue full, still loading) lets an endpoint pool try another endpoint.
 */
export function httpFailure(server: string, endpoint: string, status: number, serverMessage: string): BackendError {
  const facts = { endpoint, status, serverError: serverMessage, endpointDown: status === 503 };
  if (status >= 400 && status < 500)
    return new BackendError(
      "BACKEND_ERROR",
      `${server} rejected the request (HTTP ${status}): ${serverMessage}.`,
      facts,
    );
  return new BackendError(
    "BACKEND_ERROR",
    `${server} failed (HTTP ${status}): ${serverMessage}. Check the server's log.`,
    facts,
  );
}

/** An error the server reported while generating (inside the stream, or one the client threw). */
export function generationFailure(
  server: string,
  endpoint: string,
  error: unknown,
  receivedChars: number,
): BackendError {
  const message = error instanceof Error ? error.message : String(error);
  const after = receivedChars > 0 ? ` (after ${receivedChars} characters; the incomplete answer was discarded)` : "";
  return new BackendError(
    "BACKEND_ERROR",
    `${server} reported an error while generating${after}: ${message}. Check the server's log.`,
    { endpoint, receivedChars },
    { cause: error },
  );
}
