import { BackendError } from "../errors/errors.js";
import { parseReply } from "../http-client/http.js";
import { ModelListSchema } from "../http-client/openai-replies.js";

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * `GET {baseUrl}/models` on an OpenAI-compatible server (llama.cpp's llama-server, vLLM, LM Studio,
 * Ollama's /v1): the model ids it serves.
 */
export async function listOpenAiModels(
  baseUrl: string,
  apiKey?: string,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<string[]> {
  const url = `${baseUrl.replace(/\/+$/, "")}/models`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const err = error as Error;
    if (err.name === "TimeoutError") {
      throw new BackendError("BACKEND_TIMEOUT", `${url} did not answer within ${timeoutMs} ms.`, { endpoint: url });
    }
    const cause = err.cause instanceof Error ? `: ${err.cause.message}` : "";
    throw new BackendError(
      "BACKEND_UNAVAILABLE",
      `The OpenAI-compatible server is not reachable at ${url} (${err.message}${cause}). Start it, or set "openai.base_url" in builder.config.json / OPENAI_BASE_URL.`,
      { endpoint: url },
      { cause: error },
    );
  }
  const text = await response.text();
  if (!response.ok) {
    const hint =
      response.status === 401 || response.status === 403
        ? " Check the API key (openai.api_key_env names the variable that holds it)."
        : "";
    throw new BackendError("BACKEND_ERROR", `${url} answered HTTP ${response.status}: ${text.slice(0, 200)}.${hint}`, {
      endpoint: url,
      status: response.status,
      serverError: text.slice(0, 200),
    });
  }
  try {
    return parseReply(ModelListSchema, text)
      .data.map((entry) => entry.id)
      .filter((id) => id !== "");
  } catch {
    throw new BackendError(
      "BACKEND_ERROR",
      `${url} did not answer a model list ({"data": [{"id": …}]}); is it an OpenAI-compatible server?`,
      { endpoint: url },
    );
  }
}
