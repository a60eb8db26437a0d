import { BackendError, UsageError } from "../errors/errors.js";
import { OllamaAdmin } from "../server-admin/ollama-admin.js";
import type { ModelfileParts } from "./render.js";
import { quoteText } from "./syntax.js";

/** Statuses that mean "this server has no create API" rather than "your request was wrong". */
const UNSUPPORTED = new Set([404, 405, 501]);

/**
 * Sends the Modelfile's content to Ollama's `POST /api/create` as `name`. FROM must be a model the
 * server has: a local GGUF would first have to be uploaded as a blob, which the ollama client does
 * not do, so that case says how to create it with the Ollama CLI instead.
 */
export async function createOllamaModel(host: string, name: string, parts: ModelfileParts): Promise<string> {
  if (/[\\/]/.test(parts.from) && /\.gguf$/i.test(parts.from)) {
    throw new UsageError(
      `--create needs FROM to be a model the Ollama server has, but FROM is the local file ${parts.from}. ` +
        `Write the Modelfile and create it with the Ollama CLI, which uploads the file: builder modelfile --out Modelfile && ollama create ${name} -f Modelfile`,
      { from: parts.from },
    );
  }
  const parameters: Record<string, number | boolean | string | string[]> = {};
  for (const [key, value] of parts.parameters) parameters[key] = value;
  try {
    return await new OllamaAdmin(host, 600_000).create({
      model: name,
      from: parts.from,
      system: parts.system !== undefined ? quoteText(parts.system).text : undefined,
      parameters,
      messages: parts.messages.map((m) => ({ role: m.role, content: quoteText(m.content).text })),
    });
  } catch (error) {
    if (error instanceof BackendError && error.status !== undefined && UNSUPPORTED.has(error.status)) {
      const said = error.serverError ? ` It said: ${error.serverError.replace(/[.\s]+$/, "")}.` : "";
      throw new BackendError(
        "BACKEND_ERROR",
        `The server at ${host} does not support creating models (POST /api/create answered HTTP ${error.status}).${said} ` +
          `Point --host at an Ollama server, or write the Modelfile with --out and run \`ollama create ${name} -f Modelfile\` where Ollama runs.`,
        { endpoint: host, status: error.status },
      );
    }
    throw error;
  }
}
