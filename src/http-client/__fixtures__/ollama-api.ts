/**
 * Replies transcribed from Ollama's published API documentation: docs/api.md in ollama/ollama
 * (https://github.com/ollama/ollama/blob/01e52d24bc00defcd9bcc6d995b11df0f08bc6f1/docs/api.md),
 * sections "Chat Request (Streaming)", "Chat request (Structured outputs)", "Load a model",
 * "List Local Models", "Show Model Information" and "Create a new model". Values are as published;
 * the show example's `// populates if verbose=true` comments are dropped (they are not JSON).
 */

/** "Chat Request (Streaming)": a token line, then the final line, which has no `message` at all. */
export const CHAT_STREAM = [
  `{"model":"llama3.2","created_at":"2023-08-04T08:52:19.385406455-07:00","message":{"role":"assistant","content":"The","images":null},"done":false}`,
  `{"model":"llama3.2","created_at":"2023-08-04T19:22:45.499127Z","done":true,"total_duration":4883583458,"load_duration":1334875,"prompt_eval_count":26,"prompt_eval_duration":342546000,"eval_count":282,"eval_duration":4535599000}`,
];

/** "Chat request (Structured outputs)", not streamed. */
export const CHAT_STRUCTURED = `{"model":"llama3.1","created_at":"2024-12-06T00:46:58.265747Z","message":{"role":"assistant","content":"{\\"age\\": 22, \\"available\\": false}"},"done_reason":"stop","done":true,"total_duration":2254970291,"load_duration":574751416,"prompt_eval_count":34,"prompt_eval_duration":1502000000,"eval_count":12,"eval_duration":175000000}`;

/** "Load a model" (chat with no messages). */
export const CHAT_LOAD = `{"model":"llama3.2","created_at":"2024-09-12T21:17:29.110811Z","message":{"role":"assistant","content":""},"done_reason":"load","done":true}`;

/** "List Local Models". */
export const TAGS = JSON.stringify({
  models: [
    {
      name: "codellama:13b",
      modified_at: "2023-11-04T14:56:49.277302595-07:00",
      size: 7365960935,
      digest: "9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697",
      details: { format: "gguf", family: "llama", families: null, parameter_size: "13B", quantization_level: "Q4_0" },
    },
    {
      name: "llama3:latest",
      modified_at: "2023-12-07T09:32:18.757212583-08:00",
      size: 3825819519,
      digest: "fe938a131f40e6f6d40083c9f0f430a515233eb2edaa6d72eb85c50d64f2300e",
      details: { format: "gguf", family: "llama", families: null, parameter_size: "7B", quantization_level: "Q4_0" },
    },
  ],
});

/** "Show Model Information" (brief: the long arrays come back empty unless `verbose`). */
export const SHOW = JSON.stringify({
  parameters: 'num_keep                       24\nstop                           "<|start_header_id|>"\nstop                           "<|end_header_id|>"\nstop                           "<|eot_id|>"',
  details: { parent_model: "", format: "gguf", family: "llama", families: ["llama"], parameter_size: "8.0B", quantization_level: "Q4_0" },
  model_info: {
    "general.architecture": "llama",
    "general.file_type": 2,
    "general.parameter_count": 8030261248,
    "general.quantization_version": 2,
    "llama.attention.head_count": 32,
    "llama.attention.head_count_kv": 8,
    "llama.attention.layer_norm_rms_epsilon": 0.00001,
    "llama.block_count": 32,
    "llama.context_length": 8192,
    "llama.embedding_length": 4096,
    "llama.feed_forward_length": 14336,
    "llama.rope.dimension_count": 128,
    "llama.rope.freq_base": 500000,
    "llama.vocab_size": 128256,
    "tokenizer.ggml.bos_token_id": 128000,
    "tokenizer.ggml.eos_token_id": 128009,
    "tokenizer.ggml.merges": [],
    "tokenizer.ggml.model": "gpt2",
    "tokenizer.ggml.pre": "llama-bpe",
    "tokenizer.ggml.token_type": [],
    "tokenizer.ggml.tokens": [],
  },
});

/** "Create a new model": the first and the last status lines. */
export const CREATE_STATUS = [`{"status":"reading model metadata"}`, `{"status":"success"}`];

/**
 * "List Running Models" (`GET /api/ps`) as docs/api.md at the commit above publishes it: wholly in
 * VRAM (`size_vram` equal to `size`), and no `context_length` (that server version did not send it).
 */
export const PS = JSON.stringify({
  models: [
    {
      name: "mistral:latest",
      model: "mistral:latest",
      size: 5137025024,
      digest: "2ae6f6dd7a3dd734790bbbf58b8909a606e0e7e97e94b7604e0aa7ae4490e6d8",
      details: { parent_model: "", format: "gguf", family: "llama", families: ["llama"], parameter_size: "7.2B", quantization_level: "Q4_0" },
      expires_at: "2024-06-04T14:38:31.83753-07:00",
      size_vram: 5137025024,
    },
  ],
});

/**
 * `GET /api/ps` as the current reference (https://docs.ollama.com/api/ps) publishes it: a model partly
 * in VRAM, with the context it was loaded with (`context_length`, ProcessModelResponse in api/types.go).
 */
export const PS_WITH_CONTEXT = JSON.stringify({
  models: [
    {
      name: "gemma3",
      model: "gemma3",
      size: 6591830464,
      digest: "a2af6cc3eb7fa8be8504abaf9b04e88f17a119ec3f04a3addf55f92841195f5a",
      details: { parent_model: "", format: "gguf", family: "gemma3", families: ["gemma3"], parameter_size: "4.3B", quantization_level: "Q4_K_M" },
      expires_at: "2025-10-17T16:47:07.93355-07:00",
      size_vram: 5333539264,
      context_length: 4096,
    },
  ],
});

/** `GET /api/ps` of a model wholly in system memory, from an older server that leaves `size_vram` out then (the note in docs/api.md's first "List Running Models"). */
export const PS_CPU_ONLY = JSON.stringify({
  models: [{ name: "mistral:latest", model: "mistral:latest", size: 5137025024, expires_at: "2024-06-04T14:38:31.83753-07:00" }],
});
