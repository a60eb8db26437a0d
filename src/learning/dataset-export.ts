import { maskSecretsForTraining } from "../telemetry/mask-secrets.js";
import { createHash } from "node:crypto";
import { UsageError } from "../errors/errors.js";
import { writeFileAtomic } from "../workspace/atomic-write.js";
import type { TrainingExample } from "./training-example.js";
import { readTrainingFile, type TrainingRead } from "./training-store.js";

/** Output formats fine-tuning tools read. */
export const DATASET_FORMATS = ["chat", "alpaca", "sharegpt"] as const;
export type DatasetFormat = (typeof DATASET_FORMATS)[number];

/**
 * One example in a fine-tuning format. The assistant turn is the answer as the model wrote it: the
 * JSON object Builder's schema asks for.
 *
 * - chat: `{"messages": [{role, content}, …]}` (OpenAI fine-tuning, most trainers' "messages" format)
 * - alpaca: `{instruction, input, output, system, history}` (LLaMA-Factory's alpaca with system and
 *   few-shot turns as history)
 * - sharegpt: `{"conversations": [{from: system|human|gpt, value}, …]}`
 */
export function toDatasetRecord(example: TrainingExample, format: DatasetFormat): Record<string, unknown> {
  const answer = JSON.stringify(example.answer);
  const conversation = [
    ...example.messages.map((m) => ({ role: m.role, content: m.content })),
    { role: "assistant" as const, content: answer },
  ];
  switch (format) {
    case "chat":
      return { messages: conversation };
    case "sharegpt":
      return {
        conversations: conversation.map((m) => ({
          from: m.role === "user" ? "human" : m.role === "assistant" ? "gpt" : "system",
          value: m.content,
        })),
      };
    case "alpaca": {
      const system = example.messages
        .filter((m) => m.role === "system")
        .map((m) => m.content)
        .join("\n\n");
      const turns = example.messages.filter((m) => m.role !== "system");
      const instruction = turns.at(-1)?.content ?? "";
      const history: Array<[string, string]> = [];
      for (let i = 0; i + 1 < turns.length - 1; i += 2) history.push([turns[i].content, turns[i + 1].content]);
      return { instruction, input: "", output: answer, system, history };
    }
  }
}

/** Options for {@link exportDataset}. */
export interface ExportOptions {
  /** The verified examples file (`.builder/training/verified.jsonl`). */
  source: string;
  format: DatasetFormat;
  /** Where to write; without it the JSONL is returned for stdout. Required with `split`. */
  out?: string;
  /** Share for training (0 < split < 1); the rest goes to `valOut`. */
  split?: number;
  /** Validation file; default: `out` with `.val` before its extension. */
  valOut?: string;
  seed?: number;
}

/** What was exported. */
export interface ExportSummary {
  format: DatasetFormat;
  source: string;
  read: number;
  invalid: number;
  /** Lines in verified.jsonl whose verdict is not VERIFIED: left out. */
  not_verified: number;
  duplicates: number;
  train: { file: string | null; examples: number };
  validation: { file: string; examples: number } | null;
}

/** The export's summary plus, without `out`, the JSONL text for stdout. */
export interface ExportResult {
  summary: ExportSummary;
  stdout?: string;
}

/**
 * Exports verified examples as JSONL: deduplicated (identical conversations once), optionally split
 * into train/validation reproducibly by `seed`, each file written atomically.
 */
export async function exportDataset(options: ExportOptions): Promise<ExportResult> {
  if (options.split !== undefined && !(options.split > 0 && options.split < 1)) {
    throw new UsageError(
      `--split ${options.split} must be between 0 and 1 (exclusive), e.g. 0.9 for 90% train / 10% validation.`,
    );
  }
  if (options.split !== undefined && !options.out)
    throw new UsageError("--split writes two files: give --out <train.jsonl> (validation goes next to it).");
  const read: TrainingRead = await readTrainingFile(options.source, "VERIFIED");
  const seen = new Set<string>();
  const unique: Array<{ line: string; key: string }> = [];
  for (const example of read.examples) {
    // Re-checked on the way out: a file written by an older Builder, or edited by hand, may hold secrets.
    const line = JSON.stringify(toDatasetRecord(maskSecretsForTraining(example), options.format));
    const key = sha256(line);
    if (seen.has(key)) continue;
    seen.add(key);
    unique.push({ line, key });
  }
  let train = unique;
  let validation: typeof unique = [];
  if (options.split !== undefined) {
    const seed = String(options.seed ?? 42);
    // Rank by a hash of seed + content: the same example lands on the same side on every export.
    const ranked = [...unique].sort((a, b) => (sha256(seed + a.key) < sha256(seed + b.key) ? -1 : 1));
    const trainKeys = new Set(ranked.slice(0, Math.round(unique.length * options.split)).map((u) => u.key));
    train = unique.filter((u) => trainKeys.has(u.key));
    validation = unique.filter((u) => !trainKeys.has(u.key));
  }
  const jsonl = (items: typeof unique): string => items.map((u) => u.line + "\n").join("");
  const valOut =
    options.split !== undefined && options.out ? (options.valOut ?? validationPath(options.out)) : undefined;
  if (options.out) await writeFileAtomic(options.out, jsonl(train));
  if (valOut) await writeFileAtomic(valOut, jsonl(validation));
  return {
    summary: {
      format: options.format,
      source: options.source,
      read: read.examples.length + read.invalid + read.wrongVerdict,
      invalid: read.invalid,
      not_verified: read.wrongVerdict,
      duplicates: read.examples.length - unique.length,
      train: { file: options.out ?? null, examples: train.length },
      validation: valOut ? { file: valOut, examples: validation.length } : null,
    },
    stdout: options.out ? undefined : jsonl(train),
  };
}

/** "data/train.jsonl" → "data/train.val.jsonl". */
export function validationPath(out: string): string {
  const match = /^(.*?)(\.[^./\\]+)?$/.exec(out);
  return `${match?.[1] ?? out}.val${match?.[2] ?? ".jsonl"}`;
}

/** One line for stderr saying what was written and what was left out. */
export function describeExport(summary: ExportSummary): string {
  const left = [
    summary.duplicates > 0 ? `${summary.duplicates} duplicate${summary.duplicates === 1 ? "" : "s"}` : "",
    summary.invalid > 0 ? `${summary.invalid} unreadable line${summary.invalid === 1 ? "" : "s"}` : "",
    summary.not_verified > 0 ? `${summary.not_verified} not VERIFIED` : "",
  ].filter(Boolean);
  const where = summary.train.file ? `to ${summary.train.file}` : "to stdout";
  const validation = summary.validation
    ? `; ${summary.validation.examples} validation example${summary.validation.examples === 1 ? "" : "s"} to ${summary.validation.file}`
    : "";
  const empty =
    summary.read === 0
      ? ` No verified runs are recorded in ${summary.source} yet: runs are added there when their verification passes.`
      : "";
  return `Exported ${summary.train.examples} ${summary.format} example${summary.train.examples === 1 ? "" : "s"} ${where}${validation} (read ${summary.read}${left.length > 0 ? `; left out ${left.join(", ")}` : ""}).${empty}`;
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
