import path from "node:path";
import { z } from "zod";
import { BuilderTaskSchema, ModelAnswerSchema } from "../task/schema.js";

/** Bumped when the record's shape changes incompatibly; readers skip versions they do not know. */
export const TRAINING_SCHEMA_VERSION = 1;

/** The verdicts that are recorded, each in its own file so a FAILED run can never pass for a good example. */
export type RecordedVerdict = "VERIFIED" | "FAILED";

const ChatMessageSchema = z.object({ role: z.enum(["system", "user", "assistant"]), content: z.string() });

/** One line of `.builder/training/verified.jsonl` (or `failed.jsonl`). Unknown fields are kept. */
export const TrainingExampleSchema = z
  .object({
    schema: z.literal(TRAINING_SCHEMA_VERSION),
    run_id: z.string(),
    recorded_at: z.string(),
    verdict: z.enum(["VERIFIED", "FAILED"]),
    task: BuilderTaskSchema,
    /** The prompt exactly as sent (after secret masking): system priming, any few-shot pairs, the task. */
    messages: z.array(ChatMessageSchema).min(1),
    /** The final answer. */
    answer: ModelAnswerSchema,
    verification: z.object({
      summary: z.string(),
      checks: z.array(z.object({ name: z.string(), status: z.string() }).passthrough()),
    }),
    backend: z.string(),
    model: z.string(),
    prompt_tokens: z.number().optional(),
    generated_tokens: z.number().optional(),
  })
  .passthrough();

export type TrainingExample = z.infer<typeof TrainingExampleSchema>;

/** `.builder/training` in the workspace. */
export function trainingDir(workspace: string): string {
  return path.join(workspace, ".builder", "training");
}

/** The file a verdict's examples go to: verified.jsonl or failed.jsonl. */
export function trainingFile(workspace: string, verdict: RecordedVerdict): string {
  return path.join(trainingDir(workspace), verdict === "VERIFIED" ? "verified.jsonl" : "failed.jsonl");
}
