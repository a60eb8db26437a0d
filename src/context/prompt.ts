import type { BuilderTask } from "../task/schema.js";
import type { KnowledgeSection } from "./priming.js";

/**
 * Builder's standing instructions for the text answer format (marker blocks), with one tiny example.
 * Kept byte-identical across tasks (and first in the prompt) so that engines can reuse the KV cache
 * of the stable prefix.
 */
export const SYSTEM_INSTRUCTIONS = [
  "You are Builder, a careful senior software engineer working inside the user's repository.",
  "Follow the project knowledge below. Answer with file changes in this format and nothing else:",
  "each changed file's path on its own line, then a ``` fence, then one or more blocks, then a closing ``` fence.",
  "To change an existing file, a block is: <<<<<<< SEARCH, a few whole lines copied exactly from the file as shown,",
  "=======, the lines that replace them, >>>>>>> REPLACE. Quote just enough lines for the SEARCH to match one place;",
  "several blocks of one file go in file order. A new file (the tests, say) is one block with an empty SEARCH and",
  "its whole content. <<<<<<< DELETE FILE deletes a file. After the files, write ## Explanation and what changed and why.",
  "Example:",
  "src/math.ts",
  "```",
  "<<<<<<< SEARCH",
  "export const add = (a: number, b: number): number => a - b;",
  "=======",
  "export const add = (a: number, b: number): number => a + b;",
  ">>>>>>> REPLACE",
  "```",
  "## Explanation",
  "add subtracted instead of adding.",
  "Write complete, compiling code: no placeholders, no elided parts.",
].join("\n");

/** The standing instructions for the JSON answer format (backends that can only constrain JSON). */
export const JSON_SYSTEM_INSTRUCTIONS = [
  "You are Builder, a careful senior software engineer working inside the user's repository.",
  "Follow the project knowledge below. Answer with one JSON object and nothing else:",
  '{"changes": [{"path": a file of the task, "action": "edit" | "create" | "delete",',
  ' "edits": [{"search": a few whole lines copied exactly from the current file, "replace": the lines that replace them}],',
  ' "content": the whole content of a new file, else ""}], "explanation": what changed and why}.',
  "Quote just enough lines in each search to match one place; edits of one file go in file order. The tests are one more change.",
  "Write complete, compiling code: no placeholders, no elided parts.",
].join("\n");

/** The instructions for a format: `text` (marker blocks) or `json`. */
export function instructionsFor(format: "text" | "json"): string {
  return format === "json" ? JSON_SYSTEM_INSTRUCTIONS : SYSTEM_INSTRUCTIONS;
}

/** A file or snippet shown to the model with the task. */
export interface ContextSection {
  title: string;
  content: string;
}

/** The stable system message: instructions, then each knowledge file. */
export function buildSystemMessage(
  priming: readonly KnowledgeSection[],
  instructions: string = SYSTEM_INSTRUCTIONS,
): string {
  const parts = [instructions];
  for (const section of priming) parts.push(`\n## Project knowledge: ${section.label}\n\n${section.content.trimEnd()}`);
  return parts.join("\n");
}

/** The task message: workspace context sections (if any), then the task itself. */
export function buildTaskMessage(
  task: BuilderTask,
  context: readonly ContextSection[] = [],
  newFileFolders: readonly string[] = [],
): string {
  const parts: string[] = [];
  for (const section of context) parts.push(`## ${section.title}\n\n${section.content.trimEnd()}\n`);
  parts.push(
    [
      `## Task ${task.task_id}`,
      `Objective: ${task.objective}`,
      `Files: ${filesLine(task.files, newFileFolders)}`,
      "Acceptance criteria:",
      ...(task.acceptance.length > 0 ? task.acceptance.map((a) => `- ${a}`) : ["- (none given)"]),
      `Change at most ${task.constraints.loc_max} lines.`,
    ].join("\n"),
  );
  return parts.join("\n");
}

/** The task message's files: the task's, the folders where it allows new files, or none (answer with an explanation). */
function filesLine(files: readonly string[], folders: readonly string[]): string {
  const named = [...files, ...folders.map((f) => `${f === "" ? "." : f}/ (new files)`)];
  return named.length > 0
    ? named.join(", ")
    : "(none: the task names no file, so change no file and answer with the explanation alone)";
}
