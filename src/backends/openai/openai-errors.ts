import { BackendError, ContextOverflowError, ModelError, type BuilderError } from "../../errors/errors.js";
import { ErrorBodySchema } from "../../http-client/openai-replies.js";
import { httpFailure } from "../http-common/failures.js";

/** An HTTP error answer from an OpenAI-compatible server. */
export class OpenAIHttpError extends Error {
  constructor(
    readonly status: number,
    readonly serverMessage: string,
  ) {
    super(`HTTP ${status}: ${serverMessage}`);
    this.name = "OpenAIHttpError";
  }
}

/** Reads the error message from an error answer: `{"error": {"message"}}`, `{"error": "..."}` or text. */
export async function readHttpError(response: Response): Promise<OpenAIHttpError> {
  const text = await response.text().catch(() => "");
  let message = text.trim().slice(0, 500);
  try {
    const body = ErrorBodySchema.safeParse(JSON.parse(text));
    const error = body.success ? body.data.error : undefined;
    message =
      (typeof error === "string" ? error : error?.message) ?? (body.success ? body.data.message : undefined) ?? message;
  } catch {
    // not JSON: keep the text
  }
  return new OpenAIHttpError(response.status, message || response.statusText);
}

/** What the explanation needs besides the status. */
export interface HttpErrorContext {
  server: string;
  endpoint: string;
  model: string;
  apiKeyEnv: string;
  apiKeySet: boolean;
}

/** Explains an HTTP error answer: bad key, unknown model or path, prompt too long, server failure. */
export function explainHttpError(error: OpenAIHttpError, context: HttpErrorContext): BuilderError {
  const { server, endpoint, model } = context;
  const { status, serverMessage } = error;
  const details = { endpoint, status };
  if (status === 401 || status === 403) {
    const key = context.apiKeySet
      ? `Check the key in the environment variable ${context.apiKeyEnv}.`
      : `Set the API key in the environment variable ${context.apiKeyEnv} (or name another one with openai.api_key_env).`;
    return new BackendError(
      "BACKEND_ERROR",
      `${server} refused the request (HTTP ${status}): ${serverMessage}. ${key}`,
      { ...details, serverError: serverMessage },
    );
  }
  if (status === 404) {
    if (/model/i.test(serverMessage)) {
      return new ModelError(
        "MODEL_NOT_FOUND",
        `${server} does not serve model "${model}": ${serverMessage}. GET ${endpoint}/models lists the models it serves; pass one with --model.`,
        { ...details, model },
      );
    }
    const message = `${server} has no chat completions endpoint (HTTP 404: ${serverMessage}). Check openai.base_url: it is the server's URL, e.g. http://127.0.0.1:8080/v1.`;
    return new BackendError("BACKEND_ERROR", message, { ...details, serverError: serverMessage });
  }
  if (status === 400 && /context (window|length)|maximum context|too long|exceeds/i.test(serverMessage)) {
    return new ContextOverflowError(
      `${server} refused the prompt as too long for its context window: ${serverMessage}. Lower options.num_predict or trim the knowledge base / context pack, or give the server a larger context.`,
      details,
    );
  }
  return httpFailure(server, endpoint, status, serverMessage);
}
