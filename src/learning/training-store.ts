import { existsSync } from "node:fs";
import { forEachLine } from "../workspace/jsonl.js";
import { TrainingExampleSchema, trainingFile, type RecordedVerdict, type TrainingExample } from "./training-example.js";

/** Examples read back, and how many lines were left out and why. */
export interface TrainingRead {
  file: string;
  examples: TrainingExample[];
  /** Lines that are not JSON or not a training example (of this schema version). */
  invalid: number;
  /** Lines whose verdict does not match the file (a FAILED run in verified.jsonl is never used). */
  wrongVerdict: number;
}

/** Reads a verdict's training file line by line; a missing file reads as empty. */
export async function readTrainingExamples(
  workspace: string,
  verdict: RecordedVerdict = "VERIFIED",
): Promise<TrainingRead> {
  return readTrainingFile(trainingFile(workspace, verdict), verdict);
}

/** Reads a training file, keeping only valid examples of `verdict`. */
export async function readTrainingFile(file: string, verdict: RecordedVerdict): Promise<TrainingRead> {
  const read: TrainingRead = { file, examples: [], invalid: 0, wrongVerdict: 0 };
  if (!existsSync(file)) return read;
  await forEachLine(file, (line) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      read.invalid += 1;
      return;
    }
    const parsed = TrainingExampleSchema.safeParse(value);
    if (!parsed.success) read.invalid += 1;
    else if (parsed.data.verdict !== verdict) read.wrongVerdict += 1;
    else read.examples.push(parsed.data);
  });
  return read;
}
