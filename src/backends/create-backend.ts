import { EmbeddedBackend } from "./embedded/embedded-backend.js";
import { OllamaBackend } from "./ollama/ollama-backend.js";
import { OpenAIBackend } from "./openai/openai-backend.js";
import { PooledBackend } from "./pool/pooled-backend.js";
import { HostBackend } from "./host/host-backend.js";
import type { Backend, BackendConfig } from "./types.js";

/**
 * Creates the backend the configuration names. Several server URLs (`ollama.hosts`,
 * `openai.base_urls`, or `--host a,b`) make an endpoint pool; its members do not retry a refused
 * connection themselves, the pool fails over instead.
 */
export function createBackend(config: BackendConfig): Backend {
  switch (config.backend) {
    case "embedded":
      // keep_alive 0, and callers that did not ask for the Builder host (see EngineSettings.host), run the model in this process.
      return config.engine?.host && config.engine.keepAliveMs > 0
        ? new HostBackend(config)
        : new EmbeddedBackend(config);
    case "ollama":
      return serverBackend(
        config.ollama.hosts,
        (host, connectRetries) => new OllamaBackend(config, { host, connectRetries }),
      );
    case "openai":
      return serverBackend(
        config.openai.baseUrls,
        (baseUrl, connectRetries) => new OpenAIBackend(config, { baseUrl, connectRetries }),
      );
  }
}

function serverBackend(
  urls: readonly string[],
  create: (url: string, connectRetries: number | undefined) => Backend,
): Backend {
  if (urls.length === 1) return create(urls[0], undefined);
  return new PooledBackend(urls.map((url) => ({ url, member: create(url, 0) })));
}
