/**
 * Builder as a library, for callers in the same process (`import { runTask } from "local-builder"`).
 * The CLI (`builder run`) and the MCP server (`builder mcp`) are built on the same calls.
 *
 * @example
 * ```ts
 * import { loadConfig, parseTask, runTask } from "local-builder";
 * const config = loadConfig({ cwd: "/path/to/repo" });
 * const task = parseTask({ task_id: "t1", objective: "Add a slugify helper", files: ["src/slug.ts"],
 *   acceptance: ["has tests"], constraints: { loc_max: 80, pack: "" } }, "my planner");
 * const { suggestion } = await runTask(task, { config, onEvent: (e) => console.error(e.type) });
 * ```
 * @packageDocumentation
 */

export { runTask, RunFailure, type RunTaskOptions, type RunTaskResult } from "./agent/run-task.js";
export type { RunEvent, RunEventListener, RunResultEvent } from "./agent/events.js";
export { loadConfig, type BuilderConfig, type LoadConfigOptions, type ConfigOverrides } from "./config/load.js";
export { parseTask, parseTaskJson } from "./task/read-task.js";
export {
  BuilderTaskSchema,
  CodeSuggestionSchema,
  type BuilderTask,
  type CodeSuggestion,
  type Verification,
} from "./task/schema.js";
export { BuilderError, CancelledError, type BuilderErrorCode } from "./errors/errors.js";
export type { RunMetrics } from "./telemetry/metrics.js";
