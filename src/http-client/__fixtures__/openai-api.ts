/**
 * Replies of OpenAI-compatible servers, transcribed from published documentation:
 * - OpenAI API reference, "The chat completion chunk object" and streaming with (shape and order as
 *   documented; the text and the usage numbers are ours)
 *   `stream_options: {"include_usage": true}` (https://platform.openai.com/docs/api-reference/chat/streaming):
 *   content chunks, a chunk with `finish_reason`, then a chunk with empty `choices` and `usage`, then `[DONE]`;
 * - llama.cpp's server README (ggml-org/llama.cpp tools/server/README.md): the `GET /v1/models` example
 *   with `meta.n_ctx_train`, the error format `{"error": {"code", "message", "type"}}`, and `timings`
 *   ("timing information about the completion such as the number of tokens predicted_per_second"),
 *   whose field names (prompt_n, prompt_ms, prompt_per_token_ms, prompt_per_second, predicted_n,
 *   predicted_ms, predicted_per_token_ms, predicted_per_second) are the server's; the numbers here are ours.
 */

/** OpenAI's documented chunk sequence for one short answer, with usage requested. */
export const CHAT_STREAM = [
  `{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}`,
  `{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{"content":"Hello"},"logprobs":null,"finish_reason":null}]}`,
  `{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`,
  `{"id":"chatcmpl-123","object":"chat.completion.chunk","created":1694268190,"model":"gpt-4o-mini","system_fingerprint":"fp_44709d6fcb","choices":[],"usage":{"prompt_tokens":9,"completion_tokens":12,"total_tokens":21}}`,
  `[DONE]`,
];

/** llama.cpp's server: the last chunk carries usage and its own timings. */
export const LLAMA_CPP_LAST_CHUNK = `{"choices":[],"created":1735142223,"id":"chatcmpl-llama","model":"qwen2.5-coder-7b","object":"chat.completion.chunk","usage":{"completion_tokens":22,"prompt_tokens":28,"total_tokens":50},"timings":{"prompt_n":28,"prompt_ms":447.9,"prompt_per_token_ms":16.0,"prompt_per_second":62.5,"predicted_n":22,"predicted_ms":1317.7,"predicted_per_token_ms":59.9,"predicted_per_second":16.7}}`;

/** llama.cpp's server README, "GET /v1/models". */
export const LLAMA_CPP_MODELS = JSON.stringify({
  object: "list",
  data: [
    {
      id: "../models/Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf",
      object: "model",
      created: 1735142223,
      owned_by: "llamacpp",
      meta: { vocab_type: 2, n_vocab: 128256, n_ctx_train: 131072, n_embd: 4096, n_params: 8030261312, size: 4912898304 },
    },
  ],
});

/** llama.cpp's server README, "API errors". */
export const LLAMA_CPP_ERROR = `{"error":{"code":401,"message":"Invalid API Key","type":"authentication_error"}}`;
