import type { ChatMessage } from "../backends/types.js";
import { checkFit, reserveForAnswer } from "../window-size/policy.js";
import { ContextOverflowError } from "../errors/errors.js";
import type { BuilderTask } from "../task/schema.js";
import type { KnowledgeSection } from "./priming.js";
import { SYSTEM_INSTRUCTIONS, buildSystemMessage, buildTaskMessage, type ContextSection } from "./prompt.js";
import { chooseRegions, type FileRegion, type RegionView } from "./file-regions.js";
import { renderMapEntry } from "./rank.js";
import { refuseOversizedBySize } from "./size-bound.js";
import { ESTIMATE_BYTES_PER_TOKEN, type TokenCounter } from "./token-count.js";
import type { WorkspaceContext } from "./workspace-context.js";

/** One part of the prompt, as `--explain-context` lists it. */
export interface ContextPart {
  kind:
    | "instructions"
    | "knowledge"
    | "pack"
    | "repo-map"
    | "task-file"
    | "related-code"
    | "requirements"
    | "few-shot"
    | "task";
  label: string;
  /** Tokens this part takes (or would take); parts are counted one by one, the total is counted whole. */
  tokens: number;
  included: boolean;
  /** A task file too large for the window: the regions shown of it, and why each. */
  regions?: FileRegion[];
}

/** What went into the prompt and what was left out, with token counts. */
export interface ContextExplanation {
  task_id: string;
  /** The window the prompt was fitted to: the one the engine or server really gives, or the bucket `num_ctx: auto` chose. */
  context_size: number;
  /** The window the config asked for (`num_ctx`), or "auto"; shown beside the real one when they differ. */
  requested_context_size?: number | "auto";
  /** `num_ctx: auto`: the largest window it could have chosen (the model's trained context, the card's memory, 128K). */
  auto_window_cap?: number;
  reserved_for_answer: number;
  /** Tokens of the prompt as assembled (when it does not fit: the smallest prompt Builder could make). */
  prompt_tokens: number;
  /** Whether counts come from the model's tokenizer (true) or a conservative estimate. */
  exact: boolean;
  fits: boolean;
  drop_order: string;
  parts: ContextPart[];
  /** The workspace scan: code files mapped, parsed now vs cached, paths excluded, milliseconds. */
  workspace: WorkspaceContext["stats"];
}

/** Inputs to {@link assembleContext}. */
export interface AssembleInput {
  /** The task with workspace-relative files. */
  task: BuilderTask;
  priming: readonly KnowledgeSection[];
  workspace: WorkspaceContext;
  counter: TokenCounter;
  contextSize: number;
  /** The configured `num_predict`; unset reserves {@link reserveForAnswer}'s default. */
  numPredict?: number;
  /** Verified past tasks as user/assistant pairs, placed after the stable system message; dropped first. */
  examples?: readonly FewShotExample[];
  /** Sections the run adds just before the task (what verification will check); never dropped. */
  requirements?: readonly ContextSection[];
  /** The standing instructions (the answer format's); default: the text format's. */
  instructions?: string;
  /** Folders the task names for new files (said in the task message when it names no file). */
  newFileFolders?: readonly string[];
  /** The `num_ctx` the config asked for, or "auto"; for the explanation. */
  requestedContextSize?: number | "auto";
  /**
   * `num_ctx: auto`: the prompt is fitted to `contextSize` (the largest window the backend may open),
   * then `fit` is told prompt plus reserve and returns the window it opened (a bucket that holds them).
   */
  autoWindow?: { fit: (neededTokens: number) => Promise<number> };
  /** Never show a task file in regions (benchmarks measure the whole-file behaviour with it). */
  wholeFilesOnly?: boolean;
  /** Receives the explanation, also when the prompt does not fit (before the error is thrown). */
  onExplain?: (explanation: ContextExplanation) => void;
}

/** One few-shot example: a past task and its verified answer, as two messages. */
export interface FewShotExample {
  label: string;
  messages: readonly ChatMessage[];
}

/** The prompt that fits, with its exact (or estimated) size. */
export interface AssembledContext {
  messages: ChatMessage[];
  /** Task files shown in regions (too large for the window): the lines shown, which alone an edit may quote. */
  shownRegions: Map<string, FileRegion[]>;
  promptTokens: number;
  exact: boolean;
  explanation: ContextExplanation;
}

export const DROP_ORDER =
  "few-shot examples (least similar first), then related code, then the repository map from its least relevant file up, then context pack files (last first); never the knowledge base, the task's files or the task (a task file too large for the window is shown as its outline and the regions the task names)";

const MAP_TITLE = "Repository map (exported symbols of workspace files, most relevant to the task first)";

/** Even the densest tokenizer spends a token per this many bytes of a map line: entries beyond the window by this bound are not counted. */
const MAX_BYTES_PER_TOKEN = 16;

interface Unit {
  part: ContextPart;
  tokens: number;
  /** 0 drops first; undefined never drops. */
  dropRank?: 0 | 1 | 2 | 3;
  included: boolean;
}

/** The sections between the map and the task, each with the unit that counts and drops it. */
interface SectionUnits {
  fileUnits: Unit[];
  relatedSections: ContextSection[];
  relatedUnits: Unit[];
  examples: readonly FewShotExample[];
  exampleUnits: Unit[];
  requirements: readonly ContextSection[];
  requirementParts: ContextPart[];
}

/**
 * Builds the prompt in its fixed order (stable priming as the system message; then the repository
 * map, the task's files, related code and the task) and fits it to the context window minus the
 * answer's reserve, dropping parts in {@link DROP_ORDER}. Throws {@link ContextOverflowError} with the
 * tokens needed when the parts that are never dropped do not fit.
 */
export async function assembleContext(input: AssembleInput): Promise<AssembledContext> {
  const { task, workspace, counter, contextSize } = input;
  const reserve = reserveForAnswer(contextSize, input.numPredict);
  const fragment = await fragmentCounter(counter);
  const { fileSections, shownRegions } = await fitTaskFiles(input, reserve, fragment);
  await refuseOversized(input, fileSections, reserve);
  const instructions = fixedPart(
    "instructions",
    "Builder instructions",
    await fragment(input.instructions ?? SYSTEM_INSTRUCTIONS),
  );
  const priming = await primingUnits(input.priming, fragment);
  const { mapTexts, mapUnits, counted } = await mapUnitsFor(workspace, contextSize, fragment);
  const sections = await sectionUnits(input, fileSections, fragment);
  const taskPart = fixedPart(
    "task",
    `task ${task.task_id}`,
    await fragment(buildTaskMessage(task, [], input.newFileFolders)),
  );
  const render = messageRenderer(input, fileSections, priming, { mapTexts, mapUnits }, sections);
  // Drop order: related code from the least related, the map from its tail, pack files from the last.
  const droppable = [...sections.exampleUnits]
    .reverse()
    .concat(
      [...sections.relatedUnits].reverse(),
      mapUnits.slice(0, counted).reverse(),
      priming.filter((p) => p.dropRank === 3).reverse(),
    );
  const { messages, count } = await dropUntilFits(droppable, render, counter, reserve, contextSize);
  const { fits, needed } = checkFit(count.tokens, reserve, contextSize);
  // num_ctx auto: the window opens only now, at the smallest bucket that holds what was assembled.
  const window = fits && input.autoWindow ? await input.autoWindow.fit(needed) : contextSize;
  const explanation: ContextExplanation = {
    task_id: task.task_id,
    context_size: window,
    ...(input.requestedContextSize !== undefined ? { requested_context_size: input.requestedContextSize } : {}),
    ...(input.autoWindow ? { auto_window_cap: contextSize } : {}),
    reserved_for_answer: reserve,
    prompt_tokens: count.tokens,
    exact: count.exact,
    fits,
    drop_order: DROP_ORDER,
    parts: [
      instructions,
      ...priming.map((p) => p.part),
      ...sections.exampleUnits.map((u) => u.part),
      ...mapParts(mapUnits),
      ...sections.fileUnits.map((u) => u.part),
      ...sections.relatedUnits.map((u) => u.part),
      ...sections.requirementParts,
      taskPart,
    ],
    workspace: workspace.stats,
  };
  input.onExplain?.(explanation);
  if (!fits) throw taskOverflow(count, reserve, contextSize, needed);
  return { messages, shownRegions, promptTokens: count.tokens, exact: count.exact, explanation };
}

/** Of the room a large file has, the share its regions may take at most (the rest: its outline, the map, related code). */
const REGION_SHARE = 0.5;
/** The most tokens a large file's regions take, whatever the window: relevant regions, not the whole file again. */
const MAX_REGION_TOKENS = 12_288;

/**
 * The tokens a task file too large for the window may show in regions, given `roomTokens`: the window
 * less the answer's reserve, the parts never dropped and the other task files. `npm run bench -- fit`
 * measures region choice at this budget.
 */
export function regionBudgetTokens(roomTokens: number): number {
  return Math.min(MAX_REGION_TOKENS, Math.floor(Math.max(0, roomTokens) * REGION_SHARE));
}

/**
 * The task files' sections: whole when they fit beside the parts that are never dropped (always
 * preferred), else the largest files in turn as their outline and relevant regions
 * ({@link chooseRegions}) until they do.
 */
async function fitTaskFiles(
  input: AssembleInput,
  reserve: number,
  fragment: (text: string) => Promise<number>,
): Promise<{
  fileSections: Array<{ section: ContextSection; label: string; regions?: FileRegion[] }>;
  shownRegions: Map<string, FileRegion[]>;
}> {
  const files = input.workspace.taskFiles;
  const fileSections: Array<{ section: ContextSection; label: string; regions?: FileRegion[] }> =
    files.map(taskFileSection);
  const shownRegions = new Map<string, FileRegion[]>();
  const present = files.map((f, i) => ({ file: f, i })).filter(({ file }) => file.status === "present");
  if (present.length === 0 || input.wholeFilesOnly) return { fileSections, shownRegions };
  const fixedTexts = [
    input.instructions ?? SYSTEM_INSTRUCTIONS,
    buildTaskMessage(input.task),
    ...input.priming.filter((p) => !p.fromPack).map((p) => p.content),
    ...(input.requirements ?? []).map(sectionText),
  ];
  let fixed = 0;
  for (const text of fixedTexts) fixed += await fragment(text);
  const room = input.contextSize - reserve - fixed - 64;
  // No room even for a region: nothing to gain; the overflow error names the window needed.
  if (room <= 0) return { fileSections, shownRegions };
  // A file whose bytes alone exceed the room at a generous 8 bytes per token is not worth tokenizing whole.
  const tokens = await Promise.all(
    present.map(async ({ i }) => {
      const text = sectionText((fileSections[i] as { section: ContextSection }).section);
      const bytes = Buffer.byteLength(text);
      return bytes > room * 8 ? Math.ceil(bytes / ESTIMATE_BYTES_PER_TOKEN) : fragment(text);
    }),
  );
  let total = tokens.reduce((a, b) => a + b, 0);
  if (total <= room) return { fileSections, shownRegions };
  const linked = linkedNames(input.workspace);
  const order = present.map((p, k) => ({ ...p, tokens: tokens[k] as number })).sort((a, b) => b.tokens - a.tokens);
  const objective = [input.task.objective, ...input.task.acceptance].join("\n");
  for (const { file, i, tokens: whole } of order) {
    if (total <= room) break;
    const content = file.content ?? "";
    const limit = room - (total - whole);
    // Bytes per token of this file (by its count when it was counted; code is ~3-4 bytes per token).
    const bytesPerToken = whole > 0 ? Buffer.byteLength(content) / whole : ESTIMATE_BYTES_PER_TOKEN;
    const { view, section, shownTokens } = await regionSection(
      file.path,
      (budgetTokens) => chooseRegions(content, objective, Math.floor(budgetTokens * bytesPerToken), linked),
      regionBudgetTokens(limit),
      limit,
      fragment,
    );
    // A small file gains nothing from an outline: it stays whole (and the overflow names the window it needs).
    if (shownTokens >= whole * 0.75) continue;
    const label = `${file.path} (lines ${view.regions.map((r) => `${r.start}-${r.end}`).join(", ")} of ${view.lines})`;
    fileSections[i] = { section, label, regions: view.regions };
    shownRegions.set(file.path, view.regions);
    total = total - whole + shownTokens;
  }
  return { fileSections, shownRegions };
}

/**
 * A large file's section: its outline and the regions chosen. The section aims at `budgetTokens`
 * (the rest of the room is for the map, related code and the repair rounds' messages); the outline
 * comes out of it, and a long one (hundreds of declarations) leaves the regions less, down to a
 * quarter of the budget; below that, the section may take more, but never more than `limit`.
 */
async function regionSection(
  file: string,
  choose: (budgetTokens: number) => RegionView,
  budgetTokens: number,
  limit: number,
  fragment: (text: string) => Promise<number>,
): Promise<{ view: RegionView; section: ContextSection; shownTokens: number }> {
  const floor = Math.floor(budgetTokens / 4);
  let regions = budgetTokens;
  for (let attempt = 0; ; attempt++) {
    const view = choose(regions);
    const section = {
      title: `File ${file} (current content, shown in part: ${view.lines} lines do not fit the window)`,
      content: view.content,
    };
    const shownTokens = await fragment(sectionText(section));
    const over = shownTokens - (regions > floor ? budgetTokens : limit);
    if (over <= 0 || attempt === 4 || regions === 0) return { view, section, shownTokens };
    regions = Math.max(regions > floor ? floor : 0, regions - over - 32);
  }
}

/** Names used by the related files (which import the task's files or are imported by them): the repository map's links. */
function linkedNames(workspace: WorkspaceContext): Set<string> {
  const names = new Set<string>();
  for (const file of workspace.related)
    for (const match of file.content.matchAll(/\bimport\s*(?:type\s*)?\{([^}]*)\}/g))
      for (const name of importedNames(match[1] ?? "")) names.add(name);
  return names;
}

/** The names an import's braces bring in, under their exported names: `a, type B, c as d` → a, B, c. */
export function importedNames(braces: string): string[] {
  return braces
    .split(",")
    .map((name) =>
      name
        .trim()
        .split(/\s+as\s+/)[0]
        ?.replace(/^type\s+/, ""),
    )
    .filter((name): name is string => name !== undefined && name !== "");
}

/** A part that is always in the prompt (the instructions, the task), for the explanation. */
function fixedPart(kind: ContextPart["kind"], label: string, tokens: number): ContextPart {
  return { kind, label, tokens, included: true };
}

/** Renders the prompt's messages from the units still included, in the fixed order. */
function messageRenderer(
  input: AssembleInput,
  fileSections: ReadonlyArray<{ section: ContextSection }>,
  priming: ReadonlyArray<Unit & { section: KnowledgeSection }>,
  map: { mapTexts: readonly string[]; mapUnits: readonly Unit[] },
  parts: Pick<SectionUnits, "relatedSections" | "relatedUnits" | "examples" | "exampleUnits" | "requirements">,
): () => ChatMessage[] {
  const { mapTexts, mapUnits } = map;
  const { relatedSections, relatedUnits, examples, exampleUnits, requirements } = parts;
  return (): ChatMessage[] => {
    const sections: ContextSection[] = [];
    const shown = mapUnits.filter((u) => u.included).length;
    if (shown > 0) {
      const more = mapUnits.length - shown;
      sections.push({
        title: MAP_TITLE,
        content: mapTexts.slice(0, shown).join("\n") + (more > 0 ? `\n… ${more} more files not shown` : ""),
      });
    }
    sections.push(...fileSections.map((f) => f.section));
    sections.push(...relatedSections.filter((_, i) => relatedUnits[i]?.included));
    sections.push(...requirements);
    return [
      {
        role: "system",
        content: buildSystemMessage(
          priming.filter((p) => p.included).map((p) => p.section),
          input.instructions,
        ),
      },
      ...examples.filter((_, i) => exampleUnits[i]?.included).flatMap((example) => example.messages),
      { role: "user", content: buildTaskMessage(input.task, sections, input.newFileFolders) },
    ];
  };
}

/** Refuses, before any tokenizing, a task whose parts that are never dropped cannot fit by their size alone. */
async function refuseOversized(
  input: AssembleInput,
  fileSections: ReadonlyArray<{ section: ContextSection }>,
  reserve: number,
): Promise<void> {
  const neverDropped = input.priming.filter((section) => !section.fromPack).map((section) => section.content);
  refuseOversizedBySize({
    fixedTexts: [
      buildTaskMessage(input.task, [], input.newFileFolders),
      ...fileSections.map(({ section }) => sectionText(section)),
      ...neverDropped,
    ],
    maxBytesPerToken: await input.counter.maxBytesPerToken?.(),
    contextSize: input.contextSize,
    reserve,
  });
}

/** The knowledge sections as units; pack files may be dropped (last of all), the rest never. */
function primingUnits(
  sections: readonly KnowledgeSection[],
  fragment: (text: string) => Promise<number>,
): Promise<Array<Unit & { section: KnowledgeSection }>> {
  return Promise.all(
    sections.map(async (section): Promise<Unit & { section: KnowledgeSection }> => {
      const tokens = await fragment(`## Project knowledge: ${section.label}\n\n${section.content}`);
      const part: ContextPart = {
        kind: section.fromPack ? "pack" : "knowledge",
        label: section.label,
        tokens,
        included: true,
      };
      return { part, tokens, dropRank: section.fromPack ? 3 : undefined, included: true, section };
    }),
  );
}

/** The task's files, related code, few-shot examples and requirements, each counted as a unit. */
async function sectionUnits(
  input: AssembleInput,
  fileSections: ReadonlyArray<{ section: ContextSection; label: string; regions?: FileRegion[] }>,
  fragment: (text: string) => Promise<number>,
): Promise<SectionUnits> {
  const fileUnits: Unit[] = await Promise.all(
    fileSections.map(async ({ section, label, regions }) => {
      const tokens = await fragment(sectionText(section));
      const part: ContextPart = { kind: "task-file", label, tokens, included: true, ...(regions ? { regions } : {}) };
      return { part, tokens, included: true };
    }),
  );
  const examples = input.examples ?? [];
  const exampleUnits: Unit[] = await Promise.all(
    examples.map(async (example) => {
      const tokens = await fragment(example.messages.map((m) => m.content).join("\n"));
      return {
        part: { kind: "few-shot" as const, label: example.label, tokens, included: true },
        tokens,
        dropRank: 0,
        included: true,
      };
    }),
  );
  const requirements = input.requirements ?? [];
  const requirementParts: ContextPart[] = await Promise.all(
    requirements.map(async (section) => ({
      kind: "requirements" as const,
      label: section.title,
      tokens: await fragment(sectionText(section)),
      included: true,
    })),
  );
  const related = await relatedUnitsFor(input.workspace.related, fragment);
  return { fileUnits, ...related, examples, exampleUnits, requirements, requirementParts };
}

/** Related files as fenced sections, each a unit that drops before the map. */
async function relatedUnitsFor(
  related: WorkspaceContext["related"],
  fragment: (text: string) => Promise<number>,
): Promise<Pick<SectionUnits, "relatedSections" | "relatedUnits">> {
  const relatedSections = related.map((file) => ({
    title: `Related code: ${file.path} (${file.reason})`,
    content: fenced(file.path, file.content),
  }));
  const relatedUnits: Unit[] = await Promise.all(
    relatedSections.map(async (section, i) => {
      const tokens = await fragment(sectionText(section));
      const file = related[i];
      return {
        part: {
          kind: "related-code",
          label: `${file?.path ?? ""} (${file?.reason ?? ""})`,
          tokens,
          included: true,
        },
        tokens,
        dropRank: 1,
        included: true,
      };
    }),
  );
  return { relatedSections, relatedUnits };
}

/** The map's units: entries past what the window could hold at any tokenizer's density are not even counted. */
async function mapUnitsFor(
  workspace: WorkspaceContext,
  contextSize: number,
  fragment: (text: string) => Promise<number>,
): Promise<{ mapTexts: string[]; mapUnits: Unit[]; counted: number }> {
  const mapTexts = workspace.map.map((ranked) => renderMapEntry(ranked.entry));
  const byteCap = contextSize * MAX_BYTES_PER_TOKEN;
  let bytes = 0;
  let counted = 0;
  while (counted < mapTexts.length && bytes + Buffer.byteLength(mapTexts[counted] as string) <= byteCap) {
    bytes += Buffer.byteLength(mapTexts[counted++] as string) + 1;
  }
  const mapTokens = counted > 0 ? await fragment(mapTexts.slice(0, counted).join("\n")) : 0;
  const tokensPerByte = bytes > 0 ? mapTokens / bytes : 1 / 3;
  // The section's heading and "… more files" line go when its last entry goes: the head entry carries them.
  const overheadText = sectionText({ title: MAP_TITLE, content: `… ${mapTexts.length} more files not shown` });
  const mapOverhead = mapTexts.length > 0 ? await fragment(overheadText) : 0;
  const mapUnits: Unit[] = mapTexts.map((text, i) => {
    const tokens = Math.max(1, Math.round((Buffer.byteLength(text) + 1) * tokensPerByte)) + (i === 0 ? mapOverhead : 0);
    const part: ContextPart = { kind: "repo-map", label: text.split("\n")[0] as string, tokens, included: i < counted };
    return { part, tokens, dropRank: 2, included: i < counted };
  });
  return { mapTexts, mapUnits, counted };
}

/**
 * Renders and counts the prompt, dropping `droppable` units in order while prompt plus `reserve` do
 * not fit; stops when nothing is left to drop (the caller then reports the overflow).
 */
async function dropUntilFits(
  droppable: readonly Unit[],
  render: () => ChatMessage[],
  counter: TokenCounter,
  reserve: number,
  contextSize: number,
): Promise<{ messages: ChatMessage[]; count: { tokens: number; exact: boolean } }> {
  let messages = render();
  let count = await counter.countPromptTokens(messages);
  for (
    let fit = checkFit(count.tokens, reserve, contextSize);
    !fit.fits;
    fit = checkFit(count.tokens, reserve, contextSize)
  ) {
    let over = fit.needed - contextSize;
    let dropped = false;
    for (const unit of droppable) {
      if (over <= 0) break;
      if (!unit.included) continue;
      unit.included = false;
      unit.part.included = false;
      over -= unit.tokens;
      dropped = true;
    }
    if (!dropped) break;
    messages = render();
    count = await counter.countPromptTokens(messages);
  }
  return { messages, count };
}

function taskOverflow(
  count: { tokens: number; exact: boolean },
  reserve: number,
  contextSize: number,
  needed: number,
): ContextOverflowError {
  return new ContextOverflowError(
    `The task does not fit the context window: its files, the task and the knowledge base alone take ${count.tokens} tokens${count.exact ? "" : " (estimated)"}, ` +
      `and ${reserve} more are reserved for the answer (num_predict), but the window is ${contextSize} tokens. ` +
      `Raise options.num_ctx to at least ${needed} (--num-ctx ${needed}), lower options.num_predict, or split the task into smaller files. ` +
      `Builder already dropped what it may (${DROP_ORDER}); --explain-context shows each part.`,
    { prompt_tokens: count.tokens, num_predict: reserve, num_ctx: contextSize, needed },
  );
}

/** The map as two explanation parts: the files shown, and the tail left out. */
function mapParts(units: readonly Unit[]): ContextPart[] {
  const shown = units.filter((u) => u.included);
  const left = units.filter((u) => !u.included);
  const parts: ContextPart[] = [];
  const sum = (list: readonly Unit[]): number => list.reduce((total, u) => total + u.tokens, 0);
  if (shown.length > 0)
    parts.push({
      kind: "repo-map",
      label: `repository map: ${shown.length} of ${units.length} files`,
      tokens: sum(shown),
      included: true,
    });
  if (left.length > 0)
    parts.push({
      kind: "repo-map",
      label: `repository map tail: ${left.length} less relevant files`,
      tokens: sum(left),
      included: false,
    });
  if (units.length === 0)
    parts.push({
      kind: "repo-map",
      label: "repository map: no TypeScript/JavaScript files in the workspace",
      tokens: 0,
      included: false,
    });
  return parts;
}

function taskFileSection(file: WorkspaceContext["taskFiles"][number]): { section: ContextSection; label: string } {
  switch (file.status) {
    case "present":
      return {
        section: { title: `File ${file.path} (current content)`, content: fenced(file.path, file.content ?? "") },
        label: file.path,
      };
    case "new":
      return {
        section: { title: `File ${file.path} (NEW: it does not exist yet)`, content: "Create this file." },
        label: `${file.path} (NEW)`,
      };
    case "withheld":
      return {
        section: {
          title: `File ${file.path} (exists; content withheld)`,
          content: `Builder does not show this file (${file.withheld ?? "excluded"}). Write its complete new content.`,
        },
        label: `${file.path} (withheld: ${file.withheld ?? "excluded"})`,
      };
  }
}

/** The text buildTaskMessage makes of a section, for counting it alone. */
function sectionText(section: ContextSection): string {
  return `## ${section.title}\n\n${section.content.trimEnd()}\n`;
}

/** Code in a Markdown fence longer than any backtick run inside it. */
function fenced(file: string, content: string): string {
  const longest = Math.max(2, ...[...content.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const language = /\.([cm]?[jt]sx?)$/.exec(file)?.[1]?.replace(/^[cm]/, "") ?? "";
  return `${fence}${language}\n${content.replace(/\n$/, "")}\n${fence}`;
}

/** Counts a piece of text as the prompt would hold it: the count of a one-message prompt minus the empty one's. */
async function fragmentCounter(counter: TokenCounter): Promise<(text: string) => Promise<number>> {
  const empty = (await counter.countPromptTokens([{ role: "user", content: "" }])).tokens;
  return async (text) =>
    Math.max(0, (await counter.countPromptTokens([{ role: "user", content: text }])).tokens - empty);
}
