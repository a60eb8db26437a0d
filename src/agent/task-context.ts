// What a run's first step reads and checks before the prompt exists: the project's knowledge, the
// task's files against the workspace, a task too large for any window, and the prompt's assembly
// against the window the backend gives. The run (run-task.ts) calls these in order.
import path from "node:path";
import type { Logger } from "pino";
import { describeBackend } from "../backends/descriptors.js";
import type { Backend, BackendInfo, ChatMessage } from "../backends/types.js";
import type { BackendName, GenerationOptions } from "../config/schema.js";
import { assembleContext, type AssembledContext, type AssembleInput } from "../context/assemble.js";
import { loadPriming, type KnowledgeSection } from "../context/priming.js";
import { MAX_TOKEN_BYTES_ANY_MODEL, refuseOversizedBySize } from "../context/size-bound.js";
import { normalizeTaskFiles } from "../context/workspace-context.js";
import { CONTEXT_BUCKETS } from "../window-size/policy.js";
import type { loadFewShot } from "../learning/few-shot.js";
import type { BuilderTask } from "../task/schema.js";
import { detectTestConvention, testPathFor } from "../verify/proposed-files.js";
import { WorkspaceSandbox } from "../workspace/sandbox.js";
import { isTestFile } from "../workspace/test-placement.js";

/** Where the project's knowledge comes from: the config's knowledge files, packs, and what may be read. */
export interface KnowledgeSettings {
  knowledge: string[];
  packs: Record<string, string[]>;
  knowledgeAllowOutside: string[];
  workspace: string;
  deny: string[];
  /** The config file, whose folder relative pack paths resolve against; the workspace when none. */
  configPath?: string;
}

/**
 * The knowledge files and the pack's, read through the sandbox of the project's workspace
 * (`projectWorkspace`, default `settings.workspace`): inside it, deny list applied, unless allow-listed.
 * Throws for a missing, unreadable or out-of-workspace file: a setup error, before anything runs.
 */
export async function loadProjectPriming(
  settings: KnowledgeSettings,
  packName: string,
  logger: Logger,
  projectWorkspace: string = settings.workspace,
): Promise<KnowledgeSection[]> {
  const sandbox = await WorkspaceSandbox.open({ root: projectWorkspace, deny: settings.deny });
  const configDir = settings.configPath ? path.dirname(settings.configPath) : projectWorkspace;
  return loadPriming(settings.knowledge, settings.packs, packName, configDir, {
    sandbox,
    allowOutside: settings.knowledgeAllowOutside,
    logger,
  });
}

/**
 * Checks the task's files against the workspace and joins them by their test files; resolves the folders
 * where the model may create files: those of the task's files and those it names with a trailing
 * slash. A task that names nothing allows no change: its answer is an explanation.
 */
export async function resolveTaskFiles(
  task: BuilderTask,
  sandbox: WorkspaceSandbox,
): Promise<{ workspaceTask: BuilderTask; newFileFolders: string[] }> {
  const root = sandbox.root;
  const folders = task.files.filter((f) => f.endsWith("/"));
  const named = await normalizeTaskFiles(sandbox, { ...task, files: task.files.filter((f) => !f.endsWith("/")) });
  const withTests = [...named.files];
  for (const file of named.files) {
    if (isTestFile(file)) continue;
    const testPath = testPathFor(file, detectTestConvention(root, file));
    if (!withTests.includes(testPath)) withTests.push((await sandbox.resolveForWrite(testPath)).relative);
  }
  const workspaceTask: BuilderTask = { ...named, files: withTests };
  const newFileFolders = await Promise.all(
    folders.map(async (f) =>
      (await sandbox.resolveForWrite(f.replace(/\/+$/, "") || ".")).relative.replace(/^\.$/, ""),
    ),
  );
  return { workspaceTask, newFileFolders };
}

/**
 * A task far larger than any window (a 20 MiB objective) is refused before the model loads and before
 * anything is tokenized, which would take minutes only to learn that it cannot fit. The window is at
 * most `num_ctx` (or, with `num_ctx: auto`, the largest bucket) on the embedded engine and on Ollama; an
 * OpenAI-compatible server may serve more, so there only a configured `num_ctx` bounds it.
 */
export function refuseHugeTaskBeforeLoading(
  task: BuilderTask,
  config: { backend: BackendName; options: Pick<GenerationOptions, "num_ctx"> },
): void {
  const configured = config.options.num_ctx;
  if (configured === undefined && !describeBackend(config.backend).capabilities.setsContextWindow) return;
  refuseOversizedBySize({
    fixedTexts: [task.objective, ...task.acceptance],
    maxBytesPerToken: MAX_TOKEN_BYTES_ANY_MODEL,
    contextSize: configured ?? (CONTEXT_BUCKETS[CONTEXT_BUCKETS.length - 1] as number),
    reserve: 0,
    boundSource: "more than any token of a real vocabulary",
  });
}

/**
 * Assembles the prompt against the window the backend gives. With `num_ctx: auto` (a backend that can
 * choose: `autoWindowCap`), against the largest window it may open, which then opens at the smallest
 * bucket holding prompt and answer; returns the backend's info with that window.
 */
export async function assemblePrompt(
  prepared: BackendInfo,
  backend: Backend,
  input: AssembleInput,
): Promise<{ context: AssembledContext; info: BackendInfo }> {
  let info = prepared;
  const fitWindow = prepared.autoWindowCap !== undefined ? backend.fitWindow?.bind(backend) : undefined;
  const context = await assembleContext({
    ...input,
    contextSize: fitWindow ? (prepared.autoWindowCap ?? prepared.contextSize) : prepared.contextSize,
    requestedContextSize: fitWindow ? "auto" : (prepared.requestedContextSize ?? "auto"),
    autoWindow: fitWindow
      ? {
          fit: async (needed) => {
            info = await fitWindow(needed);
            return info.contextSize;
          },
        }
      : undefined,
  });
  return { context, info };
}

/** The few-shot examples as prompt sections: each one's task id and similarity score, and its two messages. */
export function fewShotSections(
  fewShot: Awaited<ReturnType<typeof loadFewShot>>,
): Array<{ label: string; messages: ChatMessage[] }> {
  return fewShot.selection.map((picked, i) => ({
    label: `${picked.example.task.task_id} (score ${picked.score.toFixed(2)})`,
    messages: fewShot.messages.slice(i * 2, i * 2 + 2),
  }));
}
