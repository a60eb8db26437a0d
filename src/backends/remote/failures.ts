import { BackendError, type BuilderError } from "../../errors/errors.js";
import { connectionFailure } from "../../remote/http.js";
import { MalformedStreamError, TruncatedStreamError } from "../../remote/stream-errors.js";
import { TIMEOUT_KEYS, type StreamWatchdog } from "./stream-watchdog.js";

/**
 * True for errors that mean "this endpoint is down" (nothing reached it, or it died before the first
 * token): an endpoint pool marks it down and fails over to another endpoint.
 */
export function isEndpointDown(error: unknown): boolean {
  return error instanceof BackendError && error.details.endpoint_down === true;
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
 * backend's to explain). `endpoint_down` marks failures an endpoint pool may fail over from: nothing
 * of the answer had arrived yet.
 */
export function transportFailure(error: unknown, context: FailureContext): BuilderError | undefined {
  const { server, endpoint, section, receivedChars } = context;
  const base = { endpoint, received_chars: receivedChars };
  const timedOut = context.watchdog?.timedOut;
  if (timedOut) {
    const key = `${section}.${TIMEOUT_KEYS[timedOut.phase]}`;
    const details = { ...base, timeout: key, timeout_ms: timedOut.ms, endpoint_down: timedOut.phase === "connect" };
    if (timedOut.phase === "connect") {
      return new BackendError("BACKEND_TIMEOUT", `${server} did not answer a status request within ${timedOut.ms} ms (${key}). Check that it is running and not overloaded, or raise ${key}.`, details, { cause: error });
    }
    if (timedOut.phase === "load") {
      return new BackendError(
        "BACKEND_TIMEOUT",
        `${server} sent no token within ${timedOut.ms} ms (${key}) while loading the model and reading the prompt. A first request that loads a large model can take minutes: raise ${key}.`,
        details,
        { cause: error },
      );
    }
    return new BackendError("BACKEND_TIMEOUT", `${server} stopped sending the answer for ${timedOut.ms} ms (${key}) after ${receivedChars} characters; the incomplete answer was discarded. Raise ${key} for a slow server.`, details, { cause: error });
  }
  if (error instanceof MalformedStreamError) {
    return new BackendError("BACKEND_ERROR", `${server} sent a malformed stream line (not JSON): ${JSON.stringify(error.line.slice(0, 120))}. The answer was discarded; check that ${endpoint} is the right kind of server.`, { ...base, endpoint_down: false }, { cause: error });
  }
  if (error instanceof TruncatedStreamError) {
    return new BackendError(
      "BACKEND_ERROR",
      `${server} ended the stream before its final message${receivedChars > 0 ? ` after ${receivedChars} characters` : ""}: the answer is incomplete and was discarded. Check the server's log (crash, out of memory?) and retry.`,
      { ...base, endpoint_down: receivedChars === 0 },
      { cause: error },
    );
  }
  const failure = connectionFailure(error);
  if (failure === "refused") {
    return new BackendError("BACKEND_UNAVAILABLE", `Cannot reach ${server}: connection refused. ${context.startHint}`, { ...base, reason: "connection_refused", endpoint_down: true }, { cause: error });
  }
  if (failure === "unreachable") {
    return new BackendError("BACKEND_UNAVAILABLE", `Cannot reach ${server}: the host is unknown or unreachable. Check the URL and the network. ${context.startHint}`, { ...base, reason: "unreachable", endpoint_down: true }, { cause: error });
  }
  if (failure === "reset") {
    if (receivedChars === 0) {
      return new BackendError("BACKEND_UNAVAILABLE", `${server} closed the connection before the first token (did it crash or restart?). Check the server's log and retry.`, { ...base, reason: "connection_lost", endpoint_down: true }, { cause: error });
    }
    return new BackendError("BACKEND_ERROR", `${server} closed the connection after ${receivedChars} characters of the answer; the incomplete answer was discarded. Check the server's log (crash, out of memory?) and retry.`, { ...base, reason: "connection_lost", endpoint_down: false }, { cause: error });
  }
  return undefined;
}
