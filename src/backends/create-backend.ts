import type { BuilderConfig } from "../config/load.js";
import { UsageError } from "../errors/errors.js";
import { EmbeddedBackend } from "./embedded/embedded-backend.js";
import type { Backend } from "./types.js";

/** Creates the backend the configuration names. */
export function createBackend(config: BuilderConfig): Backend {
  switch (config.backend) {
    case "embedded":
      return new EmbeddedBackend(config);
    case "ollama":
    case "openai":
      throw new UsageError(`The ${config.backend} backend is not available in this build yet. Use --backend embedded.`);
  }
}
