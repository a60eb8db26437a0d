import path from "node:path";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { throwIfCancelled } from "../agent/cancel.js";
import { appliedSummary } from "../agent/events.js";
import { UsageError } from "../errors/errors.js";
import { newRunId } from "../format/run-id.js";
import { checkRunId } from "../workspace/backups.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { applySuggestion, parseSuggestionJson, readSuggestionFile } from "../workspace/suggestion-apply.js";
import { undoRun } from "../workspace/undo.js";
import type { McpContext } from "./context.js";
import { toolError, toolResult } from "./tool-result.js";

const ApplyArgumentsSchema = z
  .object({
    run_id: z
      .string()
      .min(1)
      .optional()
      .describe("the run_id run_task returned (its suggestion is kept in the workspace)"),
    suggestion: z
      .record(z.string(), z.unknown())
      .optional()
      .describe("a suggestion object, as run_task returned it (instead of run_id)"),
    dry_run: z.boolean().optional().describe("return the unified diff; write nothing"),
    force: z
      .boolean()
      .optional()
      .describe("write even files that changed since the prompt was built (backed up first)"),
  })
  .strict();

const UndoArgumentsSchema = z
  .object({
    run_id: z.string().min(1).optional().describe("the applied run to undo (default: the latest)"),
    dry_run: z.boolean().optional().describe("return the diff of the undo; restore nothing"),
    force: z.boolean().optional().describe("restore even files changed after the run wrote them (backed up first)"),
  })
  .strict();

const AppliedOutput = {
  type: "object",
  properties: {
    run_id: { type: "string" },
    files: { type: "array" },
    backup_dir: { type: ["string", "null"] },
    diff: { type: "string", description: "with dry_run" },
  },
  required: ["run_id", "files"],
} as const;

/** The `apply_suggestion` tool as listed. */
export const APPLY_TOOL: Tool = {
  name: "apply_suggestion",
  title: "Write a suggestion into the workspace",
  description:
    "Write a suggestion run_task returned (by its run_id, or the object) into the workspace, backed up; refuses files changed since the prompt unless force. Undo reverts it.",
  inputSchema: z.toJSONSchema(ApplyArgumentsSchema, { io: "input" }) as Tool["inputSchema"],
  outputSchema: AppliedOutput as unknown as Tool["outputSchema"],
};

/** The `undo` tool as listed. */
export const UNDO_TOOL: Tool = {
  name: "undo",
  title: "Undo an applied run",
  description:
    "Restore exactly what an applied run changed (default: the latest) and remove the files it created; the undo itself can be undone with the undo_run_id it returns.",
  inputSchema: z.toJSONSchema(UndoArgumentsSchema, { io: "input" }) as Tool["inputSchema"],
  outputSchema: {
    type: "object",
    properties: {
      undone: { type: "string" },
      undo_run_id: { type: ["string", "null"] },
      files: { type: "array" },
      diff: { type: "string" },
    },
    required: ["undone", "files"],
  },
};

/** Reads a tool's arguments with its schema; an error names the argument. */
function parseArguments<T>(schema: z.ZodType<T>, args: Record<string, unknown>, tool: string): T {
  const parsed = schema.safeParse(args);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "(arguments)";
  throw new UsageError(`Invalid ${tool} argument ${field}: ${issue?.message}.`, { field });
}

/** Handles `apply_suggestion`: by run id (the kept suggestion) or by the object itself. */
export async function applyTool(
  context: McpContext,
  args: Record<string, unknown>,
  signal: AbortSignal,
): Promise<CallToolResult> {
  try {
    const parsed = parseArguments(ApplyArgumentsSchema, args, "apply_suggestion");
    if ((parsed.run_id === undefined) === (parsed.suggestion === undefined))
      throw new UsageError("Give apply_suggestion either run_id or suggestion (one of them).", { field: "run_id" });
    const root = await context.workspace();
    const config = context.config(root);
    return await context.serial(async () => {
      const suggestion = parsed.run_id
        ? await readSuggestionFile(path.join(root, ".builder", "suggestions", `${checkRunId(parsed.run_id)}.json`))
        : parseSuggestionJson(JSON.stringify(parsed.suggestion), "the suggestion argument");
      throwIfCancelled(signal);
      const runId = newRunId();
      const result = await applySuggestion(suggestion, {
        sandbox: await WorkspaceSandbox.fromConfig(config),
        runId,
        dryRun: parsed.dry_run,
        force: parsed.force,
        source: "apply",
      });
      const structured = parsed.dry_run
        ? { run_id: runId, files: result.files, backup_dir: null, diff: result.diff }
        : appliedSummary(result);
      const text = parsed.dry_run
        ? `Dry run: nothing was written; ${result.files.length} file(s) would change (diff in \`diff\`).`
        : `Wrote ${result.files.length} file(s); undo with the undo tool, run_id ${runId}.`;
      return toolResult(text, structured);
    });
  } catch (caught) {
    return toolError(caught);
  }
}

/** Handles `undo`: restores what an applied run changed. */
export async function undoTool(
  context: McpContext,
  args: Record<string, unknown>,
  signal: AbortSignal,
): Promise<CallToolResult> {
  try {
    const parsed = parseArguments(UndoArgumentsSchema, args, "undo");
    const root = await context.workspace();
    const config = context.config(root);
    return await context.serial(async () => {
      throwIfCancelled(signal);
      const result = await undoRun({
        sandbox: await WorkspaceSandbox.fromConfig(config),
        runId: parsed.run_id,
        force: parsed.force,
        dryRun: parsed.dry_run,
      });
      const structured = {
        undone: result.runId,
        undo_run_id: result.undoRunId ?? null,
        files: result.files,
        ...(result.dryRun ? { diff: result.diff } : {}),
      };
      const text = result.dryRun
        ? `Dry run: nothing was restored; ${result.files.length} file(s) would be.`
        : result.undoRunId
          ? `Undid run ${result.runId} (${result.files.length} file(s)); to redo it: undo with run_id ${result.undoRunId}.`
          : `Run ${result.runId} left nothing to restore.`;
      return toolResult(text, structured);
    });
  } catch (caught) {
    return toolError(caught);
  }
}
