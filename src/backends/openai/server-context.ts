import { parseReply } from "../../http-client/http.js";
import { LlamaCppPropsSchema, type ModelList } from "../../http-client/openai-replies.js";
import type { BackendInfo } from "../types.js";

/**
 * The context window an OpenAI-compatible server gives each request, where it says: llama.cpp's
 * `/props` (`default_generation_settings.n_ctx`) or vLLM's `max_model_len` in `/v1/models`. The
 * OpenAI API has no num_ctx to send, so the server's window is the one in effect. Undefined when the
 * server tells neither; a failing `/props` is no error (most servers have none).
 */
export async function readServerContext(
  rootUrl: string,
  served: ModelList["data"][number] | undefined,
  init: { headers: Record<string, string>; signal: AbortSignal },
): Promise<number | undefined> {
  try {
    const response = await fetch(`${rootUrl}/props`, init);
    if (response.ok) {
      const slot = parseReply(LlamaCppPropsSchema, await response.text()).default_generation_settings?.n_ctx;
      if (slot !== undefined) return slot;
    }
  } catch {
    // No /props (vLLM, LM Studio, builder serve), or not JSON: fall back to the model list.
  }
  return served?.max_model_len;
}

/**
 * The window Builder budgets with and how the report names it: the server's when it tells one (no
 * larger than num_ctx when that is set), else num_ctx or the default, said to be only requested.
 */
export function contextInfo(
  serverContext: number | undefined,
  requested: number | undefined,
  fallback: number,
): Pick<BackendInfo, "contextSize" | "contextOrigin" | "requestedContextSize" | "serverContextSize"> {
  if (serverContext === undefined)
    return { contextSize: requested ?? fallback, contextOrigin: "requested", requestedContextSize: requested };
  const contextSize = requested !== undefined ? Math.min(requested, serverContext) : serverContext;
  return {
    contextSize,
    contextOrigin: contextSize === serverContext ? "server" : "requested",
    requestedContextSize: requested,
    serverContextSize: serverContext,
  };
}
