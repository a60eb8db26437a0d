import type { FileChange } from "../answer/changes.js";
import { renderTextAnswer } from "../answer/text-format.js";
import type { ChatMessage } from "../backends/types.js";
import { buildTaskMessage } from "../context/prompt.js";
import type { BuilderTask } from "../task/schema.js";
import type { TrainingExample } from "./training-example.js";

/** BM25's usual constants: term-frequency saturation and length normalisation. */
const K1 = 1.2;
const B = 0.75;

/** Words too common in tasks to tell them apart. */
const STOPWORDS = new Set(
  "a an and are as at be by for from has have in into is it its of on or that the this to with without should must add use using new file files function test tests ts js".split(
    " ",
  ),
);

/**
 * Splits text into lower-case terms: words and path segments, camelCase and snake_case split into
 * their parts (each part and the whole word are kept, so "createContact" matches "create contact").
 */
export function tokenize(text: string): string[] {
  const terms: string[] = [];
  for (const word of text.split(/[^\p{L}\p{N}_]+/u)) {
    if (!word) continue;
    const parts = word
      .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
      .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
      .split(/[\s_]+/)
      .map((p) => p.toLowerCase())
      .filter((p) => p.length > 1 && !STOPWORDS.has(p));
    terms.push(...parts);
    const whole = word.toLowerCase();
    if (parts.length > 1 && !STOPWORDS.has(whole)) terms.push(whole);
  }
  return terms;
}

/** The text of a task that retrieval compares: objective, files and acceptance criteria. */
export function taskText(task: Pick<BuilderTask, "objective" | "files" | "acceptance">): string {
  return [task.objective, ...task.files, ...task.acceptance].join("\n");
}

/** A past example and how well it matches. */
export interface ScoredExample {
  example: TrainingExample;
  score: number;
}

/** A BM25 index over verified examples' tasks. */
export class ExampleIndex {
  private readonly docs: Array<{ example: TrainingExample; tf: Map<string, number>; length: number }>;
  private readonly df = new Map<string, number>();
  private readonly avgLength: number;

  constructor(examples: readonly TrainingExample[]) {
    this.docs = examples.map((example) => {
      const terms = tokenize(taskText(example.task));
      const tf = new Map<string, number>();
      for (const term of terms) tf.set(term, (tf.get(term) ?? 0) + 1);
      for (const term of tf.keys()) this.df.set(term, (this.df.get(term) ?? 0) + 1);
      return { example, tf, length: terms.length };
    });
    this.avgLength = this.docs.length > 0 ? this.docs.reduce((sum, d) => sum + d.length, 0) / this.docs.length : 0;
  }

  /** The examples whose tasks best match `task`, best first; examples sharing no term are left out. */
  search(task: Pick<BuilderTask, "objective" | "files" | "acceptance">, limit = 5): ScoredExample[] {
    const query = [...new Set(tokenize(taskText(task)))];
    const n = this.docs.length;
    const scored: ScoredExample[] = [];
    for (const doc of this.docs) {
      let score = 0;
      for (const term of query) {
        const tf = doc.tf.get(term);
        if (!tf) continue;
        const df = this.df.get(term) ?? 0;
        const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
        score += (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * doc.length) / (this.avgLength || 1)));
      }
      if (score > 0) scored.push({ example: doc.example, score });
    }
    return scored.sort((a, b) => b.score - a.score).slice(0, limit);
  }
}

/** Roughly 3 characters per token for code and prose: deliberately on the high side, so budgets hold. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 3);
}

/** One few-shot pair: the past task as the user turn, its verified answer as the assistant turn. */
export function fewShotPair(example: TrainingExample): [ChatMessage, ChatMessage] {
  return [
    { role: "user", content: buildTaskMessage(example.task) },
    { role: "assistant", content: assistantTurn(example.answer) },
  ];
}

/** An edit answer as the model writes it (the text format); an older whole-file answer as its JSON. */
function assistantTurn(answer: TrainingExample["answer"]): string {
  if (!answer.changes || answer.changes.length === 0) return JSON.stringify(answer);
  const changes = answer.changes.map((c): FileChange => {
    if (c.action === "delete") return { path: c.path, action: "delete" };
    if (c.action === "edit" && c.edits.length > 0) return { path: c.path, action: "edit", edits: c.edits };
    return { path: c.path, action: "create", content: c.content ?? "" };
  });
  return renderTextAnswer({ changes, explanation: answer.explanation });
}

/** A selected few-shot example. */
export interface FewShotSelection extends ScoredExample {
  /** Estimated tokens of its two messages. */
  tokens: number;
}

/** Options for {@link selectFewShot}. */
export interface FewShotOptions {
  /** At most this many examples. */
  k: number;
  /** Their messages together stay within this many (estimated) tokens. */
  maxTokens: number;
}

/**
 * The most similar verified examples for `task` within the token budget: best first, skipping any
 * that would overflow the budget (a smaller, less similar one may still fit), and never the same
 * answer twice.
 */
export function selectFewShot(
  task: Pick<BuilderTask, "objective" | "files" | "acceptance">,
  examples: readonly TrainingExample[],
  options: FewShotOptions,
): FewShotSelection[] {
  if (options.k <= 0 || options.maxTokens <= 0 || examples.length === 0) return [];
  const selected: FewShotSelection[] = [];
  const answers = new Set<string>();
  let used = 0;
  for (const candidate of new ExampleIndex(examples).search(task, examples.length)) {
    if (selected.length >= options.k) break;
    const [user, assistant] = fewShotPair(candidate.example);
    if (answers.has(assistant.content)) continue;
    const tokens = estimateTokens(user.content) + estimateTokens(assistant.content);
    if (used + tokens > options.maxTokens) continue;
    selected.push({ ...candidate, tokens });
    answers.add(assistant.content);
    used += tokens;
  }
  return selected;
}

/** The selected examples as chat messages, to go after the stable system message and before the task. */
export function fewShotMessages(selection: readonly FewShotSelection[]): ChatMessage[] {
  return selection.flatMap((s) => fewShotPair(s.example));
}
