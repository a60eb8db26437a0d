import { existsSync } from "node:fs";
import path from "node:path";
import { describeBackend } from "../backends/descriptors.js";
import type { BuilderConfig } from "../config/load.js";
import { isLocalPathRef } from "../config/model-ref.js";
import { loadPriming } from "../context/priming.js";
import { buildSystemMessage } from "../context/prompt.js";
import { ModelError } from "../errors/errors.js";
import { estimateTokens, fewShotPair } from "../learning/retrieval.js";
import type { TrainingExample } from "../learning/training-example.js";
import { readTrainingExamples } from "../learning/training-store.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { findCachedModelPath } from "../models/resolve-model.js";
import { parametersFromOptions, type ModelfileParts } from "./render.js";

/** Options for {@link modelfileFromConfig}. */
export interface ModelfileOptions {
  /** How many verified examples to add as MESSAGE pairs (0 = none). */
  fewShot: number;
  /** Their estimated tokens stay within this budget. */
  fewShotTokens: number;
}

/**
 * Gathers a Modelfile from the configuration: FROM the configured model, PARAMETER lines from its
 * options, SYSTEM = Builder's stable system message with the knowledge base, and optionally MESSAGE
 * pairs from the best verified examples.
 */
export async function modelfileFromConfig(config: BuilderConfig, options: ModelfileOptions): Promise<ModelfileParts> {
  const from = await resolveFrom(config);
  const { parameters, omitted } = parametersFromOptions(config.options);
  const baseDir = config.configPath ? path.dirname(config.configPath) : config.workspace;
  const knowledge = await loadPriming(config.knowledge, {}, "", baseDir, {
    sandbox: await WorkspaceSandbox.fromConfig(config),
    allowOutside: config.knowledgeAllowOutside,
  });
  const examples =
    options.fewShot > 0
      ? bestExamples(
          (await readTrainingExamples(config.workspace, "VERIFIED")).examples,
          options.fewShot,
          options.fewShotTokens,
        )
      : [];
  return {
    from,
    parameters,
    system: buildSystemMessage(knowledge),
    messages: examples.flatMap((example) =>
      fewShotPair(example).map((m) => ({ role: m.role as "user" | "assistant", content: m.content })),
    ),
    comments: [
      "Written by `builder modelfile` from builder.config.json.",
      ...(knowledge.length > 0
        ? [`SYSTEM: Builder's instructions and the knowledge base (${knowledge.map((k) => k.label).join(", ")}).`]
        : []),
      ...(examples.length > 0
        ? [
            `MESSAGE: ${examples.length} verified example${examples.length === 1 ? "" : "s"} (${examples.map((e) => e.task.task_id).join(", ")}).`,
          ]
        : []),
      ...omitted.map((reason) => `Omitted: ${reason}.`),
    ],
  };
}

/**
 * The best verified examples without a task to compare with: the most checks passed, then the most
 * recent; each answer once; within the token budget.
 */
export function bestExamples(
  examples: readonly TrainingExample[],
  count: number,
  maxTokens: number,
): TrainingExample[] {
  const passed = (e: TrainingExample): number => e.verification.checks.filter((c) => c.status === "passed").length;
  const ranked = [...examples].sort((a, b) => passed(b) - passed(a) || b.recorded_at.localeCompare(a.recorded_at));
  const chosen: TrainingExample[] = [];
  const answers = new Set<string>();
  let used = 0;
  for (const example of ranked) {
    if (chosen.length >= count) break;
    const [user, assistant] = fewShotPair(example);
    if (answers.has(assistant.content)) continue;
    const tokens = estimateTokens(user.content) + estimateTokens(assistant.content);
    if (used + tokens > maxTokens) continue;
    chosen.push(example);
    answers.add(assistant.content);
    used += tokens;
  }
  return chosen;
}

/** FROM: an Ollama model name as it is; a GGUF as its absolute path (downloaded models from the cache). */
async function resolveFrom(config: BuilderConfig): Promise<string> {
  const ref = config.model;
  if (!ref) {
    throw new ModelError(
      "MODEL_NOT_CONFIGURED",
      'No model is configured, so the Modelfile has no FROM. Set "model" in builder.config.json, BUILDER_MODEL, or --model.',
    );
  }
  // A server's model is named as the server knows it; Builder's own engine names a file or a download.
  if (!describeBackend(config.backend).capabilities.ownEngine) return ref;
  if (isLocalPathRef(ref)) {
    if (!existsSync(ref))
      throw new ModelError(
        "MODEL_NOT_FOUND",
        `Model file ${ref} does not exist; FROM must name a file Ollama can read.`,
        { model: ref },
      );
    return ref;
  }
  const cached = await findCachedModelPath(ref, config.modelCacheDir);
  if (!cached) {
    throw new ModelError(
      "MODEL_NOT_FOUND",
      `${ref} is not downloaded yet, so FROM has no file to name. Run a task once (builder run) to download it, or give the .gguf path.`,
      { model: ref },
    );
  }
  return cached;
}
