import path from "node:path";
import type { CallToolResult, Tool } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { UsageError } from "../errors/errors.js";
import type { EvalRow } from "../eval/results.js";
import type { CaseSource } from "../eval/select-cases.js";
import { newRunId } from "../format/run-id.js";
import { metricsFile } from "../telemetry/metrics.js";
import { checkedBuilderPath } from "../workspace/builder-dir.js";
import type { McpContext } from "./context.js";
import type { ProgressChannel } from "./progress.js";
import { toolError, toolResult } from "./tool-result.js";

const EvalArgumentsSchema = z
  .object({
    suite: z.string().min(1).optional().describe("a suite folder, or the shipped suite `builtin`"),
    range: z
      .string()
      .min(1)
      .optional()
      .describe("instead of a suite: cases from the workspace's git history in this range (A..B)"),
    test_command: z.string().min(1).optional().describe("with range: the hidden tests' command ({files})"),
    limit: z.number().int().positive().optional().describe("run only the first n cases"),
    reference: z.boolean().optional().describe("answer with each case's known-good change (checks the suite)"),
    verify: z.boolean().optional(),
    max_repairs: z.number().int().min(0).optional(),
  })
  .strict();

/** The `eval` tool as listed. */
export const EVAL_TOOL: Tool = {
  name: "eval",
  title: "Measure the local model on a suite",
  description:
    "Run an eval suite (builtin or a folder) or cases from a git range with the local model; hidden tests decide pass or fail. Returns the table and the summary. Takes minutes per case on a CPU.",
  inputSchema: z.toJSONSchema(EvalArgumentsSchema, { io: "input" }) as Tool["inputSchema"],
  outputSchema: {
    type: "object",
    properties: {
      suite: { type: "string" },
      out: { type: "string" },
      table: { type: "string" },
      summary: { type: "object" },
    },
    required: ["suite", "out", "table", "summary"],
  },
};

/** The `status` tool as listed. */
export const STATUS_TOOL: Tool = {
  name: "status",
  title: "Loaded models and recent runs",
  description:
    "The Builder host and the models it holds (as builder ps), this server's recent runs, and the workspace's run statistics (as builder stats).",
  inputSchema: { type: "object", properties: {}, additionalProperties: false },
  outputSchema: {
    type: "object",
    properties: {
      workspace: { type: "string" },
      host: { type: ["object", "null"] },
      models: { type: "array" },
      recent_runs: { type: "array" },
      stats: { type: "object" },
    },
    required: ["workspace", "host", "models", "recent_runs", "stats"],
  },
};

/** Handles `status`: what `builder ps` and `builder stats` tell, plus this server's own runs. */
export async function statusTool(context: McpContext): Promise<CallToolResult> {
  try {
    const root = await context.workspace();
    const config = context.config(root);
    const { hostDir } = await import("../backends/host/host-files.js");
    const { hostStatus } = await import("../backends/host/host-admin.js");
    const { computeStats } = await import("../stats/run-stats.js");
    const status = await hostStatus(hostDir(config));
    const host = status.record ? { ...status.record, ...status.host, problem: status.problem ?? null } : null;
    const models = status.models;
    const stats = await computeStats(metricsFile(root));
    const recent = context.recentRuns();
    const text = [
      `Workspace ${root}.`,
      models.length === 0
        ? "The Builder host holds no model."
        : `The Builder host holds: ${models.map((m) => m.model_path).join(", ")}.`,
      `Runs recorded: ${stats.total.runs}; by this server: ${recent.length}.`,
    ].join("\n");
    return toolResult(text, { workspace: root, host, models, recent_runs: [...recent], stats });
  } catch (caught) {
    return toolError(caught);
  }
}

/** A finished case as a progress notification (when the client asked for progress). */
function caseDone(progress: ProgressChannel, done: number, total: number, row: EvalRow): void {
  if (progress.token === undefined) return;
  const message = `case ${row.case_id}: ${row.passed ? "passed" : "failed"}`;
  progress
    .send({
      method: "notifications/progress",
      params: { progressToken: progress.token, progress: done, total, message },
    })
    .catch(() => undefined);
}

/** Handles `eval`: runs the cases (one at a time, cancellable), reporting each finished case as progress. */
export async function evalTool(
  context: McpContext,
  args: Record<string, unknown>,
  call: { signal: AbortSignal; progress: ProgressChannel },
): Promise<CallToolResult> {
  try {
    const parsed = EvalArgumentsSchema.safeParse(args);
    if (!parsed.success) {
      const field = parsed.error.issues[0]?.path.join(".") || "(arguments)";
      throw new UsageError(`Invalid eval argument ${field}: ${parsed.error.issues[0]?.message}.`, { field });
    }
    const options = parsed.data;
    if ((options.suite === undefined) === (options.range === undefined))
      throw new UsageError("Give eval either suite (builtin or a folder) or range (A..B), one of them.", {
        field: "suite",
      });
    const root = await context.workspace();
    const config = context.config(root, {
      verify: { enabled: options.verify === false ? false : undefined, maxRepairs: options.max_repairs },
    });
    return await context.serial(async () => {
      const { selectCases } = await import("../eval/select-cases.js");
      const { runEval } = await import("../eval/run-eval.js");
      const { summarize } = await import("../eval/results.js");
      const { formatEvalTable } = await import("../eval/report.js");
      const source: CaseSource = options.range
        ? {
            kind: "git",
            repo: root,
            range: options.range,
            testCommand: options.test_command ?? config.eval?.testCommand,
          }
        : { kind: "suite", suite: options.suite ?? "" };
      const selected = await selectCases(source, options.limit);
      const slug = selected.suiteName.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._-]+/, "") || "eval";
      const out = await checkedBuilderPath(root, path.join(root, ".builder", "eval", `${slug}-${newRunId()}.jsonl`));
      let done = 0;
      const result = await runEval({
        cases: selected.cases,
        suite: selected.suiteName,
        config,
        out,
        concurrency: 1,
        checkTimeoutMs: config.verify.testTimeoutMs,
        logger: context.logger,
        answerer: options.reference ? "reference" : "model",
        resume: false,
        signal: call.signal,
        onRow: (row) => caseDone(call.progress, ++done, selected.cases.length, row),
      });
      const summary = summarize(result.rows);
      const table = formatEvalTable(result.rows, summary);
      return toolResult(table, { suite: selected.suiteName, out: path.relative(root, out), table, summary });
    });
  } catch (caught) {
    return toolError(caught);
  }
}
