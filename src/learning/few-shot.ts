import type { Logger } from "pino";
import type { ChatMessage } from "../backends/types.js";
import type { BuilderTask } from "../task/schema.js";
import { getLogger } from "../telemetry/logger.js";
import { fewShotMessages, selectFewShot, type FewShotSelection } from "./retrieval.js";
import { readTrainingExamples } from "./training-store.js";

/** Few-shot messages for a task, and which examples they came from (for --explain-context). */
export interface FewShot {
  messages: ChatMessage[];
  selection: FewShotSelection[];
}

/**
 * The workspace's most similar VERIFIED past tasks as user/assistant pairs, within the budget
 * (config `few_shot`: `examples` 0 = off). Reading problems are logged and yield no examples: a run
 * never fails because of its few-shot examples.
 */
export async function loadFewShot(
  task: BuilderTask,
  workspace: string,
  settings: { examples: number; maxTokens: number },
  logger: Logger = getLogger(),
): Promise<FewShot> {
  if (settings.examples <= 0) return { messages: [], selection: [] };
  try {
    const { examples } = await readTrainingExamples(workspace, "VERIFIED");
    const selection = selectFewShot(task, examples, { k: settings.examples, maxTokens: settings.maxTokens });
    if (selection.length > 0) {
      logger.debug(
        {
          few_shot: selection.map((s) => ({
            task_id: s.example.task.task_id,
            run_id: s.example.run_id,
            score: Math.round(s.score * 100) / 100,
            tokens: s.tokens,
          })),
        },
        "few-shot examples",
      );
    }
    return { messages: fewShotMessages(selection), selection };
  } catch (error) {
    logger.warn({ err: error }, "could not read verified examples for few-shot retrieval; continuing without");
    return { messages: [], selection: [] };
  }
}
