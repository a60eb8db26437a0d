import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { toBuilderError } from "../errors/errors.js";

/** A tool's success: a short text for the model and the structured content for programs. */
export function toolResult(summary: string, structured: Record<string, unknown>): CallToolResult {
  return { content: [{ type: "text", text: summary }], structuredContent: structured };
}

/**
 * A tool's failure as a tool error (`isError`), never a protocol error: the calling agent reads the
 * code and the message (which names the field or the file, and what to do) and can try again. The
 * text is `CODE: message`; there is no structured content, which clients check against the tool's
 * output schema even on an error.
 */
export function toolError(caught: unknown): CallToolResult {
  const error = toBuilderError(caught);
  return { content: [{ type: "text", text: `${error.code}: ${error.message}` }], isError: true };
}
