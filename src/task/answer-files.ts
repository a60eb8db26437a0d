import { GenerationError } from "../errors/errors.js";
import type { BuilderTask } from "./schema.js";

/**
 * Enforces on the answer what the schema's `file_path` enum only asks for. A remote server may ignore
 * the schema (or not support `enum`), so an answer naming a file the task does not list is a failed
 * generation: never written, never reported as a suggestion. A task without files leaves the choice
 * to the model (the workspace sandbox still checks the path).
 */
export function assertAnswerFileAllowed(answer: { file_path: string }, task: Pick<BuilderTask, "files">): void {
  if (task.files.length === 0 || task.files.includes(answer.file_path)) return;
  throw new GenerationError(
    `The model's answer names file_path ${JSON.stringify(answer.file_path.slice(0, 300))}, which is not one of the task's files (${task.files.map((file) => JSON.stringify(file)).join(", ")}); nothing was written. The server did not enforce the answer schema: use a server that honours it, or retry.`,
    { file_path: answer.file_path.slice(0, 300), allowed: task.files },
  );
}
