import { Command } from "commander";
import { getLogger } from "../../telemetry/logger.js";
import { addModelFlags, configFromFlags, overridesFromFlags, type ModelFlags } from "../shared-options.js";

/**
 * `builder mcp`: Builder as a stdio MCP server for other agents (Claude Code, the Agent SDK, Codex,
 * Cursor…). stdout carries only the protocol; logs go to stderr.
 */
export function mcpCommand(): Command {
  const command = new Command("mcp").description(
    "Serve Builder's tools (run_task, apply_suggestion, undo, eval, status) over the Model Context Protocol on stdio, rooted at the workspace",
  );
  addModelFlags(command);
  return command.action(async (flags: ModelFlags) => {
    // The workspace as `builder run` would find it (--workspace, the config's, the nearest .git); a client's roots may narrow it.
    const config = configFromFlags(flags);
    const { serveMcpOnStdio } = await import("../../mcp/server.js");
    const { workspace: _workspace, ...overrides } = overridesFromFlags(flags);
    await serveMcpOnStdio({
      workspace: config.workspace,
      configPath: flags.config,
      overrides,
      logger: getLogger(),
    });
  });
}
