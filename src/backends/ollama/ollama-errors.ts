import { ContextOverflowError, ModelError, type BuilderError } from "../../errors/errors.js";
import { TruncatedStreamError } from "../../http-client/stream-errors.js";
import { generationFailure, httpFailure, transportFailure, type FailureContext } from "../http-common/failures.js";

/** What the official client throws for an HTTP error answer (its class is not exported). */
interface OllamaResponseError extends Error {
  error: string;
  status_code: number;
}

function isResponseError(error: unknown): error is OllamaResponseError {
  return (
    error instanceof Error &&
    error.name === "ResponseError" &&
    typeof (error as Partial<OllamaResponseError>).status_code === "number"
  );
}

/** The message the official client throws when a stream ends without `done: true`. */
const NO_DONE_MESSAGE = "Did not receive done or success response in stream";

/** What to do when nothing listens at an Ollama host. */
export function ollamaStartHint(): string {
  return "Start it with `ollama serve` (or `builder serve`), or point Builder at the right server with --host, OLLAMA_HOST or ollama.host in builder.config.json.";
}

/**
 * Explains a failed Ollama request: the model is not pulled, the server refused or dropped the
 * connection, a timeout ran out, the server reported an error (before or during the stream), or the
 * stream was malformed or cut short.
 */
export function ollamaFailure(error: unknown, context: FailureContext & { model: string }): BuilderError {
  const { server, model, endpoint, receivedChars } = context;
  const cause =
    error instanceof Error && error.message.startsWith(NO_DONE_MESSAGE) ? new TruncatedStreamError() : error;
  const transport = transportFailure(cause, context);
  if (transport) return transport;
  if (isResponseError(error)) {
    const status = error.status_code;
    const message = error.error || error.message;
    if (status === 404) {
      return new ModelError(
        "MODEL_NOT_FOUND",
        `${server} has no model "${model}" (${message}). Pull it there with \`ollama pull ${model}\`, or check the name with \`ollama list\`.`,
        { endpoint, model, status },
      );
    }
    if (status === 400 && /context (window|length)|too long|exceeds/i.test(message)) {
      return new ContextOverflowError(
        `${server} refused the prompt as too long for the context window: ${message}. Raise options.num_ctx, lower options.num_predict, or trim the knowledge base / context pack.`,
        { endpoint, status },
      );
    }
    return httpFailure(server, endpoint, status, message);
  }
  return generationFailure(server, endpoint, error, receivedChars);
}
