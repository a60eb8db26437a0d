import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { LlamaModel } from "node-llama-cpp";
import { getLlamaRuntime } from "../backends/embedded/llama-runtime.js";
import type { ChatMessage } from "../backends/types.js";
import { assembleContext, importedNames, regionBudgetTokens } from "../context/assemble.js";
import { chooseRegions } from "../context/file-regions.js";
import { buildTaskMessage, SYSTEM_INSTRUCTIONS } from "../context/prompt.js";
import type { TokenCounter } from "../context/token-count.js";
import type { WorkspaceContext } from "../context/workspace-context.js";
import { autoWindowCap, chooseWindow, DEFAULT_NUM_CTX, reserveForAnswer } from "../window-size/policy.js";
import { estimateFit, type ModelShape } from "../models/memory-estimate.js";
import { synthesizeQwenTestModel } from "../models/qwen-test-model.js";
import { replayHistory } from "./format.js";
import { editsForChange } from "./replay-edits.js";
import type { BenchModule, BenchResult, BenchSection, BenchSize } from "./types.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const GIB = 1024 ** 3;
/** Qwen2.5-Coder-7B at Q4_K_M: 28 layers, 4 KV heads of 128, 4.68 GB of weights; trained on 32K tokens. */
const SEVEN_B_Q4: ModelShape = { layers: 28, kvHeads: 4, keyLength: 128, valueLength: 128, weightsBytes: 4.68e9 };
const SEVEN_B_TRAINED = 32_768;
const CARD_BYTES = 24 * GIB;
/** Files and history changes measured: all files and the last 200 changes; smoke: a handful of each. */
const SIZES: Record<BenchSize, { files: number; changes: number }> = {
  full: { files: Number.POSITIVE_INFINITY, changes: 200 },
  smoke: { files: 5, changes: 5 },
};

/** `num_ctx: auto` vs the constant window on this repository's files and history, counted with Qwen's tokenizer. */
export const fitBench: BenchModule = {
  id: "fit",
  async run(size: BenchSize): Promise<BenchSection> {
    const sizes = SIZES[size];
    const llama = await getLlamaRuntime("auto");
    const model = await llama.loadModel({ modelPath: await synthesizeQwenTestModel(), vocabOnly: true });
    try {
      const cap = autoWindowCap(
        SEVEN_B_TRAINED,
        estimateFit({ shape: SEVEN_B_Q4, numCtx: 0, availableBytes: CARD_BYTES }).maxNumCtx,
      );
      const counter = qwenCounter(model);
      const results = await singleFileTasks(counter, cap, sizes.files);
      results.push(...(await regionQuotes(model, counter, cap, sizes.changes)));
      results.push(...replayHistory(model, "Qwen2.5-Coder 151,665-token BPE tokenizer", sizes.changes).map(recounted));
      return {
        title:
          "Context window fitting: num_ctx auto and large files in regions (Qwen2.5 tokenizer, 24 GB card, 7B Q4_K_M)",
        results,
      };
    } finally {
      await model.dispose();
    }
  },
};

function recounted(result: BenchResult): BenchResult {
  return { ...result, name: `format bench, recounted with the Qwen tokenizer: ${result.name}` };
}

/** Counts a prompt as Qwen2.5-Coder's ChatML template renders it. */
function qwenCounter(model: LlamaModel): TokenCounter {
  return {
    countPromptTokens(messages: ChatMessage[]): Promise<{ tokens: number; exact: boolean }> {
      const text =
        messages.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join("") + "<|im_start|>assistant\n";
      return Promise.resolve({ tokens: model.tokenize(text, true).length, exact: true });
    },
  };
}

/** This repository's `.ts` files (tests aside), workspace-relative. */
function repositoryFiles(): string[] {
  const listed = execFileSync("git", ["-C", REPO_ROOT, "ls-files", "*.ts"], { encoding: "utf8" });
  return listed.split("\n").filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
}

/** A single-file task on `file`, as `builder run -m … -f file` makes it; its workspace holds only that file. */
function taskOn(
  file: string,
  content: string,
): { task: Parameters<typeof assembleContext>[0]["task"]; workspace: WorkspaceContext } {
  const name = /export (?:async )?function (\w+)/.exec(content)?.[1] ?? path.basename(file, ".ts");
  return {
    task: {
      task_id: "fit",
      objective: `Change ${name} so that it handles an empty input`,
      files: [file],
      acceptance: [],
      constraints: { loc_max: 200, pack: "" },
    },
    workspace: {
      taskFiles: [{ path: file, status: "present", content, hash: null }],
      map: [],
      related: [],
      stats: { files: 1, parsed: 0, cached: 0, excluded: 0, ms: 0 },
    },
  };
}

/** Every file as a task: with today's constant window (whole files), and with num_ctx auto (buckets, regions). */
async function singleFileTasks(counter: TokenCounter, cap: number, limit: number): Promise<BenchResult[]> {
  const files = repositoryFiles().slice(0, limit);
  let constantFits = 0;
  let autoFits = 0;
  let regions = 0;
  const buckets = new Map<number, number>();
  for (const file of files) {
    const { task, workspace } = taskOn(file, readFileSync(path.join(REPO_ROOT, file), "utf8"));
    const base = { task, workspace, priming: [], counter };
    const constant = await assembleContext({ ...base, contextSize: DEFAULT_NUM_CTX, wholeFilesOnly: true }).then(
      () => true,
      () => false,
    );
    if (constant) constantFits++;
    let chosen = 0;
    const assembled = await assembleContext({
      ...base,
      contextSize: cap,
      autoWindow: { fit: (needed) => Promise.resolve((chosen = chooseWindow(needed, cap))) },
    }).catch(() => undefined);
    if (!assembled) continue;
    autoFits++;
    if (assembled.shownRegions.size > 0) regions++;
    buckets.set(chosen, (buckets.get(chosen) ?? 0) + 1);
  }
  const share = (n: number): number => Math.round((n / Math.max(1, files.length)) * 1000) / 10;
  const histogram = [...buckets]
    .sort((a, b) => a[0] - b[0])
    .map(([size, n]) => `${size / 1024}K: ${n}`)
    .join(", ");
  return [
    {
      name: "single-file tasks that run without CONTEXT_OVERFLOW, num_ctx auto",
      value: share(autoFits),
      unit: "%",
      target: "100%",
      pass: autoFits === files.length,
      detail: `${autoFits} of ${files.length} .ts files; ${regions} shown in regions; auto cap ${cap} tokens (trained ${SEVEN_B_TRAINED}, 24 GB card)`,
    },
    {
      name: `single-file tasks that run without CONTEXT_OVERFLOW, today's constant ${DEFAULT_NUM_CTX}-token window`,
      value: share(constantFits),
      unit: "%",
      detail: `${constantFits} of ${files.length}`,
    },
    {
      name: "distinct windows chosen (each change of bucket reloads a resident model)",
      value: buckets.size,
      unit: "buckets",
      target: "≤ 3",
      pass: buckets.size <= 3,
      detail: histogram,
    },
  ];
}

/** One real change: its file before and after, the commit message (the objective) and the commit. */
interface Change {
  commit: string;
  path: string;
  message: string;
  before: string;
  after: string;
}

function git(...args: string[]): string {
  return execFileSync("git", ["-C", REPO_ROOT, ...args], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
}

/**
 * The last changes of this repository with their commit messages. `singleFile`: only changes whose
 * commit changed no other .ts file, so that the message describes this very change, as a task's
 * objective does (a message of a commit across many files says little of where in each file it went).
 */
function changesWithMessages(limit: number, singleFile = false): Change[] {
  const log = git("log", "--no-merges", "--diff-filter=M", "--name-only", "--pretty=format:@%H", "--", "*.ts");
  const commits = log
    .split("@")
    .filter((entry) => entry.trim() !== "")
    .map((entry) => {
      const [commit = "", ...files] = entry.split("\n").filter((line) => line.trim() !== "");
      return { commit, files };
    });
  const out: Change[] = [];
  for (const { commit, files } of commits) {
    if (singleFile && files.length !== 1) continue;
    const message = git("log", "-1", "--pretty=format:%B", commit);
    for (const file of files) {
      if (out.length >= limit) return out;
      try {
        out.push({
          commit,
          path: file,
          message,
          before: git("show", `${commit}^:${file}`),
          after: git("show", `${commit}:${file}`),
        });
      } catch {
        // renamed in that commit: not a plain change
      }
    }
  }
  return out;
}

/** Related files Builder would read (up to 6, as the workspace context does): those importing the file, before the change. */
const MAX_IMPORTERS = 6;

/**
 * The repository map's links as Builder passes them to {@link chooseRegions}: the names that files
 * importing `file` import from it, in the tree before the change (what Builder would have read).
 */
function linkedNamesBefore(change: Change): Set<string> {
  const names = new Set<string>();
  const base = path.posix.basename(change.path).replace(/\.ts$/, ".js");
  let importers: string[];
  try {
    importers = git("grep", "-l", "-F", `/${base}"`, `${change.commit}^`, "--", "*.ts")
      .split("\n")
      .filter(Boolean)
      .map((line) => line.slice(change.commit.length + 2));
  } catch {
    return names; // git grep exits 1 when nothing matches
  }
  for (const importer of importers.slice(0, MAX_IMPORTERS)) {
    const text = git("show", `${change.commit}^:${importer}`);
    for (const match of text.matchAll(/import\s*(?:type\s*)?\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
      const target = path.posix.join(path.posix.dirname(importer), match[2] as string).replace(/\.js$/, ".ts");
      if (target !== change.path) continue;
      for (const name of importedNames(match[1] as string)) names.add(name);
    }
  }
  return names;
}

/**
 * Each of the last changes as if its file were too large for the window: regions chosen from what
 * Builder would have (the file before the change, the commit message as the objective, the names
 * files importing it use), never from the change itself; does every edit the change needs quote
 * only lines shown? Measured at the realistic budget (what {@link regionBudgetTokens} gives a file
 * that does not fit the 7B's window beside the instructions, the task and the answer's reserve:
 * nearly every file of this repository fits it whole) and at an eighth of it, where a typical file
 * here shows a third to a half of its lines, as a 3,000-line file does at the realistic budget.
 */
async function regionQuotes(
  model: LlamaModel,
  counter: TokenCounter,
  cap: number,
  limit: number,
): Promise<BenchResult[]> {
  const prepare = (changes: Change[]): PreparedChange[] =>
    changes.map((change) => ({
      ...change,
      edits: editsForChange(change.before, change.after),
      linked: linkedNamesBefore(change),
      bytesPerToken: Buffer.byteLength(change.before) / Math.max(1, model.tokenize(change.before).length),
    }));
  const fixed = await counter.countPromptTokens([
    { role: "system", content: SYSTEM_INSTRUCTIONS },
    { role: "user", content: buildTaskMessage(taskOn("src/file.ts", "").task) },
  ]);
  const realistic = regionBudgetTokens(cap - reserveForAnswer(cap) - fixed.tokens - 64);
  const small = Math.floor(realistic / 8);
  const recent = prepare(changesWithMessages(limit));
  const singleFile = prepare(changesWithMessages(limit, true));
  return [
    regionShare(recent, realistic, `at most ${realistic} tokens (the realistic budget)`, "changed .ts files"),
    regionShare(recent, small, `at most ${small} tokens`, "changed .ts files"),
    regionShare(
      singleFile,
      small,
      `at most ${small} tokens, changes whose commit changed only that file (the message describes this change)`,
      "single-file .ts changes",
    ),
  ];
}

/** A change with what the region-quote measure needs: the edits it takes, the linked names, its bytes per token. */
interface PreparedChange extends Change {
  edits: ReturnType<typeof editsForChange>;
  linked: Set<string>;
  bytesPerToken: number;
}

/** The share of `changes` whose edits quote only the lines {@link chooseRegions} shows within `budgetTokens`. */
function regionShare(changes: PreparedChange[], budgetTokens: number, budget: string, what: string): BenchResult {
  const measured = changes.filter((c) => c.edits !== undefined);
  const misses = new Map<string, number>();
  let covered = 0;
  let large = 0;
  let largeCovered = 0;
  for (const change of measured) {
    const budgetBytes = Math.floor(budgetTokens * change.bytesPerToken);
    const inRegions = Buffer.byteLength(change.before) > budgetBytes;
    // As the assembler does: the outline comes out of the budget, leaving the regions at least a quarter of it.
    const outlineBytes = Buffer.byteLength(chooseRegions(change.before, "", 0).content);
    const regionBytes = inRegions ? Math.max(Math.floor(budgetBytes / 4), budgetBytes - outlineBytes) : budgetBytes;
    const view = chooseRegions(change.before, change.message, regionBytes, change.linked);
    // The edits a model would write quoting what it was shown where it can (the grammar allows nothing else).
    const shown = (line: number): boolean => view.regions.some((r) => line + 1 >= r.start && line + 1 <= r.end);
    const edits = editsForChange(change.before, change.after, shown) ?? change.edits ?? [];
    const miss = regionMiss(change.before, edits, view.regions);
    if (inRegions) large++;
    if (miss === undefined) {
      covered++;
      if (inRegions) largeCovered++;
    } else misses.set(miss, (misses.get(miss) ?? 0) + 1);
  }
  const share = Math.round((covered / Math.max(1, measured.length)) * 1000) / 10;
  const why = [...misses]
    .sort((x, y) => y[1] - x[1])
    .map(([reason, n]) => `${n} ${reason}`)
    .join(", ");
  return {
    name: `real changes whose edits quote only lines shown, file shown in regions of ${budget}`,
    value: share,
    unit: "%",
    target: "≥ 95%",
    pass: share >= 95,
    detail:
      `${covered} of ${measured.length} changes (last ${changes.length} ${what}; objective = the commit message); ` +
      `of the ${large} whose file exceeds the budget (the rest show whole): ${largeCovered}` +
      (why ? `; misses: ${why}` : ""),
  };
}

/** Lines on either side of a region within which an unshown edit counts as "just outside" it. */
const NEAR_LINES = 8;

/**
 * Why a change's edits quote a line not shown, or undefined when they quote only shown lines: near
 * the top (the imports), just outside a region, spread over the file (3 or more edits), the objective
 * naming nothing in the file (only its head shown), or elsewhere.
 */
function regionMiss(
  before: string,
  edits: ReadonlyArray<{ search: string }>,
  regions: ReadonlyArray<{ start: number; end: number; reason: string }>,
): string | undefined {
  const shown = (line: number): boolean => regions.some((r) => line >= r.start && line <= r.end);
  const unshown = edits.flatMap((edit) => {
    const at = before.indexOf(edit.search);
    if (at < 0) return [0];
    const first = before.slice(0, at).split("\n").length;
    const count = edit.search.replace(/\n$/, "").split("\n").length;
    return Array.from({ length: count }, (_, k) => first + k).filter((line) => !shown(line));
  });
  const line = unshown[0];
  if (line === undefined) return undefined;
  const distance = Math.min(...regions.map((r) => (line < r.start ? r.start - line : line - r.end)));
  if (line <= 30) return "near the top (imports)";
  if (distance <= NEAR_LINES) return `just outside a region (≤ ${NEAR_LINES} lines)`;
  if (regions.every((r) => r.reason.includes("head") || r.reason.includes("start of the file")))
    return "objective names nothing in the file";
  if (edits.length >= 3) return "edits spread over the file";
  return "elsewhere in the file";
}
