import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import {
  CallToolRequestSchema,
  ListToolsRequestSchema,
  type CallToolResult,
  type ServerNotification,
} from "@modelcontextprotocol/sdk/types.js";
import { UsageError } from "../errors/errors.js";
import { VERSION } from "../version.js";
import { McpContext, type McpServerOptions } from "./context.js";
import { progressListener, type ProgressChannel } from "./progress.js";
import { EVAL_TOOL, evalTool, STATUS_TOOL, statusTool } from "./report-tools.js";
import { RUN_TASK_TOOL, runTaskTool } from "./run-task-tool.js";
import { toolError } from "./tool-result.js";
import { callWorkspace } from "./workspace-root.js";
import { APPLY_TOOL, applyTool, UNDO_TOOL, undoTool } from "./workspace-tools.js";

/** The tools `builder mcp` offers, in the order they are listed. */
export const TOOLS = [RUN_TASK_TOOL, APPLY_TOOL, UNDO_TOOL, EVAL_TOOL, STATUS_TOOL];

/**
 * Builder as an MCP server: `run_task`, `apply_suggestion`, `undo`, `eval` and `status`, rooted at one
 * workspace. Every failure of a call (a bad task, a failed run, a cancel) is a tool error the calling
 * agent reads, never a protocol error.
 */
export function createMcpServer(options: McpServerOptions): Server {
  const server = new Server(
    { name: "builder", title: "Builder (local coding agent)", version: VERSION },
    {
      capabilities: { tools: {} },
      instructions:
        "Builder runs coding tasks with a local model: run_task returns a verified suggestion (apply: true writes it; undo reverts it).",
    },
  );
  const context = new McpContext(options, () => callWorkspace(server, options.workspace, options.logger));
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: TOOLS }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra): Promise<CallToolResult> => {
    const args = request.params.arguments ?? {};
    const progress: ProgressChannel = {
      token: request.params._meta?.progressToken,
      send: (notification: ServerNotification) => extra.sendNotification(notification),
    };
    options.logger.info({ tool: request.params.name }, "tool call");
    switch (request.params.name) {
      case "run_task":
        return runTaskTool(context, args, { signal: extra.signal, onEvent: progressListener(progress) });
      case "apply_suggestion":
        return applyTool(context, args, extra.signal);
      case "undo":
        return undoTool(context, args, extra.signal);
      case "eval":
        return evalTool(context, args, { signal: extra.signal, progress });
      case "status":
        return statusTool(context);
      default:
        return toolError(
          new UsageError(`No tool named ${request.params.name}; the tools are ${TOOLS.map((t) => t.name).join(", ")}.`),
        );
    }
  });
  return server;
}

/**
 * Serves MCP on stdin and stdout until the client closes stdin. stdout carries only the protocol:
 * Builder's logs go to stderr.
 */
export async function serveMcpOnStdio(options: McpServerOptions): Promise<void> {
  const server = createMcpServer(options);
  const closed = new Promise<void>((resolve) => {
    server.onclose = () => resolve();
  });
  await server.connect(new StdioServerTransport());
  // The transport does not watch for the end of stdin: a client that closes it is gone.
  process.stdin.once("end", () => void server.close());
  options.logger.info({ workspace: options.workspace }, "builder mcp: serving on stdio");
  await closed;
}
