import path from "node:path";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { TaskValidationError } from "../errors/errors.js";
import { describeIssues } from "../errors/describe-issues.js";
import { BuilderTaskSchema, type BuilderTask } from "./schema.js";

/** Validates an already-parsed value as a task; `source` names where it came from in messages. */
export function parseTask(value: unknown, source: string): BuilderTask {
  const parsed = BuilderTaskSchema.safeParse(value);
  if (!parsed.success) {
    throw new TaskValidationError(
      `Invalid task from ${source}: ${describeIssues(parsed.error)}. ` +
        `A task is {"task_id", "objective", "files": [], "acceptance": [], "constraints": {"loc_max", "pack"}}.`,
      { source, issues: parsed.error.issues.map((i) => ({ path: i.path.map(String).join("."), message: i.message })) },
    );
  }
  return parsed.data;
}

/** Parses task JSON text. */
export function parseTaskJson(text: string, source: string): BuilderTask {
  if (text.trim() === "") {
    throw new TaskValidationError(
      `No task in ${source}: it is empty. Pass task JSON, a task file, or -m "objective".`,
      { source },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TaskValidationError(`Task in ${source} is not valid JSON: ${(error as Error).message}.`, { source });
  }
  return parseTask(value, source);
}

/** Reads and validates a task file. */
export async function readTaskFile(filePath: string): Promise<BuilderTask> {
  let text: string;
  try {
    text = await readFile(filePath, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT"
        ? `no such file in ${path.resolve(path.dirname(filePath))}. Give the path of a task JSON file, or pipe the task on stdin (echo '{…}' | builder run)`
        : code === "EISDIR"
          ? "it is a folder, not a task JSON file"
          : (code ?? (error as Error).message);
    throw new TaskValidationError(`Cannot read task file ${filePath}: ${why}.`, { source: filePath, code });
  }
  return parseTaskJson(text, filePath);
}

/** Reads all of a stream (stdin) as UTF-8 text. */
export async function readStreamText(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString("utf8");
}

/** Task fields given as command-line flags. */
export interface TaskFlags {
  taskId?: string;
  objective?: string;
  files?: string[];
  acceptance?: string[];
  locMax?: number;
  pack?: string;
}

/** Default `loc_max` for tasks given as flags. */
export const DEFAULT_LOC_MAX = 200;

/**
 * A task id for a task given as flags: the time to the millisecond (so ids sort by when they were made)
 * and a random suffix (so two tasks started in the same millisecond, by two processes, still differ).
 */
export function newFlagTaskId(now: Date = new Date()): string {
  return `task-${now
    .toISOString()
    .replace(/[-:.TZ]/g, "")
    .slice(0, 17)}-${randomBytes(4).toString("hex")}`;
}

/** Builds a task from flags; `task_id` defaults to {@link newFlagTaskId}. */
export function taskFromFlags(flags: TaskFlags, now: Date = new Date()): BuilderTask {
  return parseTask(
    {
      task_id: flags.taskId ?? newFlagTaskId(now),
      objective: flags.objective ?? "",
      files: flags.files ?? [],
      acceptance: flags.acceptance ?? [],
      constraints: { loc_max: flags.locMax ?? DEFAULT_LOC_MAX, pack: flags.pack ?? "" },
    },
    "command-line flags",
  );
}
