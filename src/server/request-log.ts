import type { ServerResponse } from "node:http";

/** What a route learnt about its request, for the one log line per request (as Ollama logs one). */
export interface RequestFacts {
  model?: string;
  promptTokens?: number;
  generatedTokens?: number;
}

const factsOf = new WeakMap<ServerResponse, RequestFacts>();

/** Records facts about the request this response answers (merged with earlier ones). */
export function noteRequest(response: ServerResponse, facts: RequestFacts): void {
  factsOf.set(response, { ...factsOf.get(response), ...facts });
}

/** The facts recorded for this response's request (empty when the route recorded none). */
export function requestFacts(response: ServerResponse): RequestFacts {
  return factsOf.get(response) ?? {};
}

/** The request's log line text: `POST /api/chat 200 qwen2.5-coder:32b 1383+341 tokens 5471 ms`. */
export function requestLine(method: string, path: string, status: number, ms: number, facts: RequestFacts): string {
  const tokens =
    facts.promptTokens !== undefined || facts.generatedTokens !== undefined
      ? ` ${facts.promptTokens ?? 0}+${facts.generatedTokens ?? 0} tokens`
      : "";
  return `${method} ${path} ${status}${facts.model ? ` ${facts.model}` : ""}${tokens} ${ms} ms`;
}
