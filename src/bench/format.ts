import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { LlamaModel } from "node-llama-cpp";
import { answerConstraint, parseAnswer, resolveAnswerStyle } from "../answer/answer-plan.js";
import { allowedFilesFor, resolveChanges } from "../answer/resolve-changes.js";
import { renderTextAnswer } from "../answer/text-format.js";
import { describeBackend } from "../backends/descriptors.js";
import { EmbeddedEngine } from "../backends/embedded/engine.js";
import { getLlamaRuntime } from "../backends/embedded/llama-runtime.js";
import { synthesizeQwenTestModel } from "../models/qwen-test-model.js";
import { writeSyntheticGguf } from "../models/synthetic-gguf.js";
import { median, ratio, scratchDir } from "./measure.js";
import { editsForChange } from "./replay-edits.js";
import type { BenchModule, BenchResult, BenchSection, BenchSize } from "./types.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
/** The answers are generated on the embedded engine: its answer style. */
const EMBEDDED_CAPABILITIES = describeBackend("embedded").capabilities;
/** The real llama tokenizer beside the project (see its README); `BUILDER_BENCH_TOKENIZER` points elsewhere. */
const SHARED_MODEL =
  process.env.BUILDER_BENCH_TOKENIZER ?? path.join(REPO_ROOT, "..", "shared", "models", "llama-2-tiny-random.gguf");
const FIT_TOKENS = 4096;
/** Changes replayed, grammar-constrained answers, and the large file of the grammar speed: `smoke` only runs every step. */
const SIZES: Record<BenchSize, { changes: number; applyRuns: number; largeFileLines: number; speedRounds: number }> = {
  full: { changes: 200, applyRuns: 200, largeFileLines: 3000, speedRounds: 3 },
  smoke: { changes: 10, applyRuns: 2, largeFileLines: 300, speedRounds: 1 },
};
const APPLY_TOKENS = 768;

/** Edit answers vs whole files on this repository's own history, and how often grammar-constrained answers apply. */
export const formatBench: BenchModule = {
  id: "format",
  async run(size: BenchSize): Promise<BenchSection> {
    const sizes = SIZES[size];
    const dir = scratchDir("builder-bench-format-");
    const { tokenizerPath, tokenizer } = await benchTokenizer(dir);
    const llama = await getLlamaRuntime("auto");
    const model = await llama.loadModel({ modelPath: tokenizerPath, vocabOnly: true });
    try {
      const results = [...replayHistory(model, tokenizer, sizes.changes)];
      results.push(...(await applyShare(dir, sizes)));
      return {
        title: "Answer format: edits vs whole files (this repository's history), and applying under the grammar",
        results,
      };
    } finally {
      await model.dispose();
    }
  },
};

/**
 * The tokenizer the history is counted with: `BUILDER_BENCH_TOKENIZER=qwen` the Qwen2.5-Coder one (the
 * synthesized Qwen-tokenizer model), a path another GGUF's, else the shared llama-2 model, else the
 * synthesized byte-level one.
 */
async function benchTokenizer(dir: string): Promise<{ tokenizerPath: string; tokenizer: string }> {
  if (process.env.BUILDER_BENCH_TOKENIZER === "qwen")
    return { tokenizerPath: await synthesizeQwenTestModel(), tokenizer: "Qwen2.5-Coder 151,665-token BPE tokenizer" };
  if (existsSync(SHARED_MODEL))
    return {
      tokenizerPath: SHARED_MODEL,
      tokenizer: `llama-2 32k tokenizer (${path.relative(REPO_ROOT, SHARED_MODEL)})`,
    };
  const tokenizerPath = path.join(dir, "tokenizer.gguf");
  await writeSyntheticGguf(tokenizerPath, { contextLength: 4096 });
  return { tokenizerPath, tokenizer: "synthesized byte-level tokenizer (the shared llama model is absent)" };
}

/** The last changed `.ts` files of this repository: content before and after each commit. */
export function historyChanges(limit: number): Array<{ path: string; before: string; after: string }> {
  const git = (...args: string[]): string =>
    execFileSync("git", ["-C", REPO_ROOT, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  const log = git("log", "--no-merges", "--diff-filter=M", "--name-only", "--pretty=format:@%H", "--", "*.ts");
  const out: Array<{ path: string; before: string; after: string }> = [];
  let commit = "";
  for (const line of log.split("\n")) {
    if (out.length >= limit) break;
    if (line.startsWith("@")) commit = line.slice(1);
    else if (line.trim() !== "") {
      try {
        out.push({ path: line, before: git("show", `${commit}^:${line}`), after: git("show", `${commit}:${line}`) });
      } catch {
        // a path renamed in that commit: not a plain change
      }
    }
  }
  return out;
}

/** Edit vs whole-file answer tokens over the last changes of this repository, counted with `model`'s tokenizer. */
export function replayHistory(model: LlamaModel, tokenizer: string, limit: number): BenchResult[] {
  const changes = historyChanges(limit);
  const count = (text: string): number => model.tokenize(text).length;
  const ratios: number[] = [];
  const editTokens: number[] = [];
  const wholeTokens: number[] = [];
  let fits = 0;
  let wholeFits = 0;
  let unbuildable = 0;
  for (const change of changes) {
    const edits = editsForChange(change.before, change.after);
    const whole = renderTextAnswer({
      changes: [{ path: change.path, action: "create", content: change.after }],
      explanation: "",
    });
    const edit = edits
      ? renderTextAnswer({ changes: [{ path: change.path, action: "edit", edits }], explanation: "" })
      : whole;
    if (!edits) unbuildable++;
    const e = count(edit);
    const w = count(whole);
    editTokens.push(e);
    wholeTokens.push(w);
    ratios.push(e / w);
    if (e <= FIT_TOKENS) fits++;
    if (w <= FIT_TOKENS) wholeFits++;
  }
  const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
  const total = ratio(sum(editTokens), sum(wholeTokens));
  const share = (fits / Math.max(1, changes.length)) * 100;
  return [
    {
      name: "edit answer ÷ whole-file answer, output tokens (all changes together)",
      value: total,
      unit: "ratio",
      target: "≤ 0.25",
      pass: total <= 0.25,
      detail: `${changes.length} changed .ts files from git history; ${sum(editTokens)} vs ${sum(wholeTokens)} tokens; median per change ${median(ratios).toFixed(3)}; median edit answer ${median(editTokens)} tokens, whole file ${median(wholeTokens)}; ${unbuildable} change(s) counted as whole files (no unique edits); tokenizer: ${tokenizer}`,
    },
    {
      name: `changes whose edit answer fits num_predict ${FIT_TOKENS}`,
      value: Math.round(share * 10) / 10,
      unit: "%",
      target: "≥ 95%",
      pass: share >= 95,
      detail: `${fits} of ${changes.length}; as whole files ${wholeFits} of ${changes.length}`,
    },
  ];
}

/** 200 grammar-constrained answers of the random model over a 300-line file (bounded, as for models that never stop): how many apply. */
async function applyShare(dir: string, sizes: (typeof SIZES)[BenchSize]): Promise<BenchResult[]> {
  const runs = sizes.applyRuns;
  const modelPath = path.join(dir, "tiny.gguf");
  await writeSyntheticGguf(modelPath, { contextLength: 8192 });
  const engine = await EmbeddedEngine.load({
    model: modelPath,
    modelCacheDir: path.join(dir, "cache"),
    gpu: "auto",
    options: { num_ctx: 4096 },
    calibrationFile: path.join(dir, "threads.json"),
  });
  try {
    const source = sampleSource(300);
    const allowed = allowedFilesFor([
      { path: "src/calc.ts", status: "present", content: source },
      { path: "src/calc.test.ts", status: "new" },
    ]);
    const style = resolveAnswerStyle(EMBEDDED_CAPABILITIES, "auto", "auto");
    const files = [...allowed.files].map(([p, content]) => ({ path: p, content }));
    const grammar = await engine.grammarForText(answerConstraint(style, files, APPLY_TOKENS).grammar as string);
    let applied = 0;
    for (let seed = 1; seed <= runs; seed++) {
      const result = await engine.generate([{ role: "user", content: "Change calc." }], {
        grammar,
        sampling: { maxTokens: APPLY_TOKENS, temperature: 1, seed },
      });
      try {
        if (result.stopReason === "stop" && resolveChanges(parseAnswer(result.text, style), allowed).ok) applied++;
      } catch {
        // a malformed answer does not apply
      }
    }
    const speed = await grammarSpeed(engine, sizes.largeFileLines, sizes.speedRounds);
    const share = (applied / runs) * 100;
    return [
      {
        name: "random-model answers that apply (embedded, grammar, 300-line file)",
        value: share,
        unit: "%",
        target: "100%",
        pass: applied === runs,
        detail: `${applied} of ${runs}, bounded at ${APPLY_TOKENS} tokens, temperature 1, seeds 1…${runs}, ${engine.threads} thread(s)`,
      },
      speed,
    ];
  } finally {
    await engine.dispose();
  }
}

/** Generation speed under the unbounded edit grammar of a 3,000-line file ÷ that of a 30-line file. */
async function grammarSpeed(engine: EmbeddedEngine, largeLines: number, rounds: number): Promise<BenchResult> {
  const style = resolveAnswerStyle(EMBEDDED_CAPABILITIES, "auto", "auto");
  const rate = async (lines: number): Promise<number> => {
    const files = [{ path: "src/calc.ts", content: sampleSource(lines) }];
    const grammar = await engine.grammarForText(answerConstraint(style, files, undefined).grammar as string);
    const speeds: number[] = [];
    for (let seed = 1; seed <= rounds; seed++) {
      const r = await engine.generate([{ role: "user", content: "Change calc." }], {
        grammar,
        sampling: { maxTokens: 200, temperature: 1, seed },
      });
      speeds.push(r.metrics.generatedTokens / Math.max(1e-3, r.metrics.generationMs / 1000));
    }
    return median(speeds);
  };
  const small = await rate(30);
  const large = await rate(largeLines);
  return {
    name: `tokens/s under the grammar of a ${largeLines.toLocaleString("en-US")}-line file ÷ a 30-line file`,
    value: ratio(large, small),
    unit: "ratio",
    detail: `${large.toFixed(1)} vs ${small.toFixed(1)} tokens/s (median of ${rounds}, 200 tokens each)`,
  };
}

/** A TypeScript-like file with repeated lines (`}`, blank), as real code has. */
export function sampleSource(lines: number): string {
  const out: string[] = [];
  for (let i = 0; out.length < lines; i++)
    out.push(`export function f${i}(x: number): number {`, `  return x + ${i};`, "}", "");
  return out.slice(0, lines).join("\n") + "\n";
}
