import { PathTooLongError, TaskValidationError } from "../errors/errors.js";
import type { BuilderTask } from "../task/schema.js";
import type { Exclusion } from "../workspace/ignore.js";
import { listWorkspaceFiles } from "../workspace/list-files.js";
import type { WorkspaceSandbox } from "../workspace/sandbox.js";
import { isCodeFile } from "./module-outline.js";
import { rankRepoMap, type RankedEntry } from "./rank.js";
import { buildRepoMap } from "./repo-map.js";

/** A task file as the prompt shows it. */
export interface TaskFileContext {
  /** Workspace-relative. */
  path: string;
  /** "present": its content is shown; "new": it does not exist yet; "withheld": the deny list, a .gitignore or binary content keeps it from the model. */
  status: "present" | "new" | "withheld";
  content?: string;
  /** SHA-256 when read (null: absent): applying refuses the file if it changed since. */
  hash: string | null;
  /** Why it was withheld. */
  withheld?: string;
}

/** A related file whose full text the prompt may carry. */
export interface RelatedFile {
  path: string;
  content: string;
  reason: string;
}

/** Everything the prompt shows from the workspace, before budgeting. */
export interface WorkspaceContext {
  taskFiles: TaskFileContext[];
  /** The repository map, most relevant first. */
  map: RankedEntry[];
  related: RelatedFile[];
  stats: { files: number; parsed: number; cached: number; excluded: number; ms: number };
}

/** How many related files' full text is offered to the budget at most. */
const MAX_RELATED = 6;
/** Related files larger than this are left to the map (their outline), not shown in full. */
const MAX_RELATED_BYTES = 64 * 1024;

/**
 * Reads what the prompt needs from the workspace: the task's files (by workspace-relative path, as
 * {@link normalizeTaskFiles} returns them), the repository map ranked for the task, and the full text
 * of the most related files. Nothing excluded by the deny list or a .gitignore is read for the model.
 */
export async function gatherWorkspaceContext(sandbox: WorkspaceSandbox, task: BuilderTask): Promise<WorkspaceContext> {
  const started = performance.now();
  const taskFiles = await Promise.all(task.files.map((file) => readTaskFile(sandbox, file)));
  const listing = await listWorkspaceFiles(sandbox, { statIf: isCodeFile });
  const codeFiles = listing.files.filter((file) => isCodeFile(file.path));
  const map = await buildRepoMap(sandbox.realRoot, codeFiles);
  const objective = [task.objective, ...task.acceptance, ...task.files].join(" ");
  const ranked = rankRepoMap(map, task.files, objective);
  const candidates = ranked.filter((r) => r.distance === 1);
  const picks = (candidates.length > 0 ? candidates : ranked.filter((r) => r.score > 0).slice(0, 3)).slice(
    0,
    MAX_RELATED,
  );
  const related: RelatedFile[] = [];
  for (const pick of picks) {
    const text = await readForModel(sandbox, pick.entry.path);
    if (text !== undefined && Buffer.byteLength(text) <= MAX_RELATED_BYTES && !text.includes("\0"))
      related.push({ path: pick.entry.path, content: text, reason: pick.reason });
  }
  return {
    taskFiles,
    map: ranked,
    related,
    stats: {
      files: codeFiles.length,
      parsed: map.stats.parsed,
      cached: map.stats.cached,
      excluded: listing.excluded,
      ms: Math.round(performance.now() - started),
    },
  };
}

async function readTaskFile(sandbox: WorkspaceSandbox, file: string): Promise<TaskFileContext> {
  const resolved = await sandbox.resolveForModel(file);
  // The read is checked on the file actually opened (it may differ from the one resolved, if a folder
  // was swapped for a link in between): inside the workspace, and not deny-listed or ignored there.
  const state = await sandbox.readState(resolved.relative);
  if (!state.exists) return { path: resolved.relative, status: "new", hash: null };
  const excluded =
    resolved.excluded ??
    (state.physical !== undefined && state.physical !== resolved.relative
      ? await sandbox.filter.excluded(state.physical)
      : undefined);
  if (excluded)
    return { path: resolved.relative, status: "withheld", hash: state.hash, withheld: describeExclusion(excluded) };
  if (state.content.subarray(0, 8000).includes(0))
    return { path: resolved.relative, status: "withheld", hash: state.hash, withheld: "binary content" };
  return { path: resolved.relative, status: "present", content: state.content.toString("utf8"), hash: state.hash };
}

/** A related file's text, read only where it really is inside and not excluded; undefined otherwise. */
async function readForModel(sandbox: WorkspaceSandbox, relative: string): Promise<string | undefined> {
  const state = await sandbox.readState(relative).catch(() => undefined);
  if (!state?.exists) return undefined;
  if (state.physical !== undefined && state.physical !== relative && (await sandbox.filter.excluded(state.physical)))
    return undefined;
  return state.content.toString("utf8");
}

function describeExclusion(exclusion: Exclusion): string {
  return exclusion.by === "deny" ? `deny list: ${exclusion.pattern}` : `${exclusion.source}: ${exclusion.pattern}`;
}

/**
 * Maps the task's files to workspace-relative paths, refusing (before any model work) paths that
 * escape the workspace or that Builder may not write. The returned task is what the prompt and the
 * answer schema use, so Windows or absolute paths in a task become the workspace's own names.
 */
export async function normalizeTaskFiles(sandbox: WorkspaceSandbox, task: BuilderTask): Promise<BuilderTask> {
  const files: string[] = [];
  for (const [index, file] of task.files.entries()) {
    const relative = (await sandbox.resolveForWrite(file).catch((error: unknown) => rethrowAsTaskError(error, index)))
      .relative;
    if (!files.includes(relative)) files.push(relative);
  }
  return { ...task, files };
}

/** An over-long path is a bad task (exit 2): say which of the task's files it is. */
function rethrowAsTaskError(error: unknown, index: number): never {
  if (error instanceof PathTooLongError)
    throw new TaskValidationError(`files[${index}]: ${error.message}`, { field: `files[${index}]`, ...error.details });
  throw error;
}
