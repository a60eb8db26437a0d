import type { ChatMessage } from "../backends/types.js";
import type { BuilderTask } from "../task/schema.js";
import type { KnowledgeSection } from "./priming.js";

/**
 * Builder's standing instructions. Kept byte-identical across tasks (and first in the prompt) so that
 * engines can reuse the KV cache of the stable prefix.
 */
export const SYSTEM_INSTRUCTIONS = [
  "You are Builder, a careful senior software engineer working inside the user's repository.",
  "Follow the project knowledge below. Answer with one JSON object and nothing else:",
  '{"file_path": the file to create or replace, "suggested_code": its complete new content,',
  ' "explanation": what changed and why, "tests": test code that checks the acceptance criteria}.',
  "Write complete, compiling code: no placeholders, no elided parts.",
].join("\n");

/** A file or snippet shown to the model with the task. */
export interface ContextSection {
  title: string;
  content: string;
}

/** The stable system message: instructions, then each knowledge file. */
export function buildSystemMessage(priming: readonly KnowledgeSection[]): string {
  const parts = [SYSTEM_INSTRUCTIONS];
  for (const section of priming) parts.push(`\n## Project knowledge: ${section.label}\n\n${section.content.trimEnd()}`);
  return parts.join("\n");
}

/** The task message: workspace context sections (if any), then the task itself. */
export function buildTaskMessage(task: BuilderTask, context: readonly ContextSection[] = []): string {
  const parts: string[] = [];
  for (const section of context) parts.push(`## ${section.title}\n\n${section.content.trimEnd()}\n`);
  parts.push(
    [
      `## Task ${task.task_id}`,
      `Objective: ${task.objective}`,
      `Files: ${task.files.length > 0 ? task.files.join(", ") : "(choose the file path)"}`,
      "Acceptance criteria:",
      ...(task.acceptance.length > 0 ? task.acceptance.map((a) => `- ${a}`) : ["- (none given)"]),
      `Change at most ${task.constraints.loc_max} lines.`,
    ].join("\n"),
  );
  return parts.join("\n");
}

/**
 * The whole prompt: the stable system message first, then any few-shot examples (user/assistant
 * pairs of verified past tasks), then the task. The examples come after the system message so the
 * stable prefix stays byte-identical across tasks.
 */
export function buildMessages(
  priming: readonly KnowledgeSection[],
  task: BuilderTask,
  context: readonly ContextSection[] = [],
  examples: readonly ChatMessage[] = [],
): ChatMessage[] {
  return [{ role: "system", content: buildSystemMessage(priming) }, ...examples, { role: "user", content: buildTaskMessage(task, context) }];
}
