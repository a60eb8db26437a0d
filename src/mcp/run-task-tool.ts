import path from "node:path";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { throwIfCancelled } from "../agent/cancel.js";
import { appliedSummary, type RunEventListener } from "../agent/events.js";
import type { RunTaskResult } from "../agent/run-task.js";
import { RunFailure } from "../agent/run-failure.js";
import { loadProgressListener, setLoadProgressListener } from "../backends/embedded/load-progress.js";
import type { BuilderConfig } from "../config/load.js";
import { toBuilderError, UsageError } from "../errors/errors.js";
import { DEFAULT_LOC_MAX, newFlagTaskId, parseTask } from "../task/read-task.js";
import { BuilderTaskSchema, type BuilderTask } from "../task/schema.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { applySuggestion, saveSuggestion } from "../workspace/suggestion-apply.js";
import type { McpContext } from "./context.js";
import { toolError, toolResult } from "./tool-result.js";

/** The run options `run_task` takes beside the task's own fields. */
const RunOptionsSchema = z
  .object({
    apply: z
      .boolean()
      .optional()
      .describe("write the suggestion into the workspace unless it FAILED verification (backed up; undo reverts it)"),
    dry_run: z.boolean().optional().describe("return the suggestion's unified diff as `diff`; write nothing"),
    verify: z.boolean().optional().describe("false: skip verification (the suggestion is UNVERIFIED)"),
    max_repairs: z.number().int().min(0).optional().describe("repair rounds after a failed verification (default 2)"),
  })
  .strict();

type RunOptions = z.infer<typeof RunOptionsSchema>;

/** The arguments as listed: the task's fields (as on stdin; task_id, files, acceptance and constraints optional) and the options. */
const RunTaskArgumentsSchema = BuilderTaskSchema.extend({
  task_id: BuilderTaskSchema.shape.task_id.optional().describe("default: a time-based id"),
  objective: BuilderTaskSchema.shape.objective.describe("what to build or change"),
  files: BuilderTaskSchema.shape.files.optional().describe("workspace files the task changes (a folder ends with /)"),
  acceptance: BuilderTaskSchema.shape.acceptance.optional().describe("acceptance criteria"),
  constraints: BuilderTaskSchema.shape.constraints
    .optional()
    .describe(`loc_max (default ${DEFAULT_LOC_MAX}) and a context pack from builder.config.json`),
}).extend(RunOptionsSchema.shape);

/** The `run_task` tool as listed. */
export const RUN_TASK_TOOL: Tool = {
  name: "run_task",
  title: "Run a coding task with the local model",
  description:
    "Generate a code suggestion for one task with Builder's local model, verified (types, lint, tests) and repaired in a few rounds. " +
    "Sends progress notifications while the model loads and generates. Writes nothing unless apply is true; undo reverts an apply.",
  inputSchema: z.toJSONSchema(RunTaskArgumentsSchema, { io: "input" }) as Tool["inputSchema"],
  outputSchema: {
    type: "object",
    properties: {
      run_id: { type: "string" },
      verdict: { type: "string", enum: ["VERIFIED", "UNVERIFIED", "FAILED"] },
      suggestion: { type: "object", description: "the suggestion, as `builder run` prints it" },
      metrics: { type: "object" },
      suggestion_file: { type: "string", description: "where it is kept; apply_suggestion takes its run_id" },
      diff: { type: "string", description: "with dry_run" },
      applied: { type: "object", description: "with apply: the files written and the backup" },
    },
    required: ["run_id", "verdict", "suggestion", "metrics"],
  },
};

/**
 * Splits the arguments into the task (validated as a task on stdin is, so that an error names the
 * field) and the run options.
 */
export function parseRunTaskArguments(args: Record<string, unknown>): { task: BuilderTask; options: RunOptions } {
  const optionKeys = Object.keys(RunOptionsSchema.shape);
  const picked = Object.fromEntries(Object.entries(args).filter(([key]) => optionKeys.includes(key)));
  const fields = Object.fromEntries(Object.entries(args).filter(([key]) => !optionKeys.includes(key)));
  const task = parseTask(
    {
      task_id: newFlagTaskId(),
      files: [],
      acceptance: [],
      constraints: { loc_max: DEFAULT_LOC_MAX, pack: "" },
      ...fields,
    },
    "the run_task arguments",
  );
  const parsed = RunOptionsSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`Invalid run_task option ${issue?.path.join(".")}: ${issue?.message}.`, {
      field: issue?.path.join("."),
    });
  }
  if (parsed.data.apply && parsed.data.dry_run)
    throw new UsageError("Choose apply (write the files) or dry_run (return the diff), not both.", {
      field: "apply",
    });
  return { task, options: parsed.data };
}

/** Handles a `run_task` call: a bad task or a failed run is a tool error; a cancelled call writes nothing. */
export async function runTaskTool(
  context: McpContext,
  args: Record<string, unknown>,
  call: { signal: AbortSignal; onEvent: RunEventListener },
): Promise<CallToolResult> {
  let taskId = typeof args.task_id === "string" ? args.task_id : "(unnamed)";
  try {
    const { task, options } = parseRunTaskArguments(args);
    taskId = task.task_id;
    const root = await context.workspace();
    const config = context.config(root, {
      verify: { enabled: options.verify === false ? false : undefined, maxRepairs: options.max_repairs },
    });
    return await context.serial(async () => {
      // Loaded on the first run, so that listing tools does not load the engine and the compiler.
      const { runTask } = await import("../agent/run-task.js");
      throwIfCancelled(call.signal);
      // An engine loading in this process tells how far it got; calls run one at a time, so the listener is this call's.
      const previous = loadProgressListener();
      setLoadProgressListener({ onModelLoad: (fraction) => call.onEvent({ type: "model_loading", fraction }) });
      const result = await runTask(task, {
        config,
        signal: call.signal,
        onEvent: call.onEvent,
        logger: context.logger,
      }).finally(() => setLoadProgressListener(previous));
      const structured = await keepAndApply(result, config, options, call.signal);
      context.record({
        run_id: result.runId,
        task_id: task.task_id,
        ok: true,
        verdict: result.suggestion.verification.verdict,
        total_ms: result.metrics.total_ms,
        finished_at: new Date().toISOString(),
      });
      return toolResult(summaryOf(result, structured), structured);
    });
  } catch (caught) {
    const error = toBuilderError(caught instanceof RunFailure ? caught.error : caught);
    if (error.code === "CANCELLED") context.logger.info({ task_id: taskId }, "run_task cancelled: nothing was written");
    context.record({ task_id: taskId, ok: false, error: error.code, finished_at: new Date().toISOString() });
    return toolError(error);
  }
}

/**
 * Keeps the suggestion in .builder/suggestions (so that apply_suggestion can take its run id), then
 * writes it (apply, unless FAILED) or computes its diff (dry_run). Nothing is written once cancelled.
 */
async function keepAndApply(
  result: RunTaskResult,
  config: BuilderConfig,
  options: RunOptions,
  signal: AbortSignal,
): Promise<Record<string, unknown>> {
  throwIfCancelled(signal);
  const sandbox = await WorkspaceSandbox.fromConfig(config);
  const root = sandbox.root;
  const { suggestion } = result;
  const saved = await saveSuggestion(root, result.runId, suggestion);
  const structured: Record<string, unknown> = {
    run_id: result.runId,
    verdict: suggestion.verification.verdict,
    suggestion,
    metrics: result.metrics,
    suggestion_file: path.relative(root, saved),
  };
  const failed = suggestion.verification.verdict === "FAILED";
  if (!options.dry_run && !(options.apply && !failed)) return structured;
  throwIfCancelled(signal);
  const applied = await applySuggestion(suggestion, {
    sandbox,
    runId: result.runId,
    dryRun: options.dry_run,
    source: "run",
  });
  return options.dry_run ? { ...structured, diff: applied.diff } : { ...structured, applied: appliedSummary(applied) };
}

/** The text the calling model reads: the verdict, the files, the checks, and what to do next. */
function summaryOf(result: RunTaskResult, structured: Record<string, unknown>): string {
  const { suggestion } = result;
  const { verification } = suggestion;
  const files = [...new Set([suggestion.file_path, ...(suggestion.changes ?? []).map((c) => c.path)])];
  const checks = verification.checks.map((c) => `${c.name} ${c.status}`).join(", ");
  const next =
    structured.applied !== undefined
      ? `Applied (undo with the undo tool, run_id ${result.runId}).`
      : structured.diff !== undefined
        ? "Dry run: nothing was written; the diff is in `diff`."
        : `Not written; to write it: apply_suggestion with run_id ${result.runId}.`;
  return [
    `${verification.verdict}: ${verification.summary}`,
    `Files: ${files.join(", ")}${checks ? `. Checks: ${checks}` : ""}.`,
    next,
  ].join("\n");
}
