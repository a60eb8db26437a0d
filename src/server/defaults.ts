/** The port `builder serve` listens on by default (Ollama's is 11434, so both can run side by side). */
export const DEFAULT_SERVE_PORT = 11435;
