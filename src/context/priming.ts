import { constants } from "node:fs";
import { open, realpath } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import {
  BuilderError,
  ConfigError,
  PathDeniedError,
  TaskValidationError,
  WorkspaceEscapeError,
} from "../errors/errors.js";
import { getLogger } from "../telemetry/logger.js";
import type { WorkspaceSandbox } from "../workspace/sandbox.js";

/** One knowledge file placed in the prompt. */
export interface KnowledgeSection {
  /** Path relative to the config folder, as shown to the model. */
  label: string;
  content: string;
  /** True for files that come from the task's context pack (the budget may drop them); false for the knowledge base. */
  fromPack?: boolean;
}

/**
 * Where knowledge files may come from. They obey the task files' rules: inside the workspace (links
 * that lead out refused, the deny list applied, read through the sandbox's checked reads), unless
 * they lie under a folder of `allowOutside` (the config's `knowledge_allow_outside`), where the deny
 * list still applies and each file read is logged at info: with a remote backend that content leaves
 * the machine, so reading outside the workspace has to be asked for by name.
 */
export interface KnowledgeAccess {
  sandbox: WorkspaceSandbox;
  /** Absolute folders outside the workspace that knowledge files may be read from. */
  allowOutside?: readonly string[];
  logger?: Logger;
}

/** Reads the knowledge base and the named context pack. `pack` "" (or "default" when undefined) means none. */
export async function loadPriming(
  knowledge: readonly string[],
  packs: Readonly<Record<string, readonly string[]>>,
  packName: string,
  baseDir: string,
  access: KnowledgeAccess,
): Promise<KnowledgeSection[]> {
  const pack = resolvePack(packs, packName);
  const files = [
    ...knowledge.map((file, i) => ({ file, key: `knowledge[${i}]`, fromPack: false })),
    ...pack.files
      .map((file, i) => ({ file, key: `packs.${pack.name}[${i}]`, fromPack: true }))
      .filter((entry) => !knowledge.includes(entry.file)),
  ];
  return Promise.all(
    files.map(async ({ file, key, fromPack }) => ({
      label: path.relative(baseDir, file).split(path.sep).join("/"),
      content: await readKnowledgeFile(file, key, access),
      fromPack,
    })),
  );
}

async function readKnowledgeFile(file: string, key: string, access: KnowledgeAccess): Promise<string> {
  try {
    const allowed = await allowingFolder(file, access.allowOutside ?? []);
    if (allowed) return await readAllowedOutside(file, key, allowed, access);
    return await readInsideWorkspace(file, key, access.sandbox);
  } catch (error) {
    if (error instanceof BuilderError) throw error;
    throw new ConfigError(
      `${key}: knowledge file ${file} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}). Fix the path in builder.config.json.`,
      {
        key,
        path: file,
      },
    );
  }
}

/** Inside the workspace: the sandbox's rules, the deny list judged on the typed path and on the file really read. */
async function readInsideWorkspace(file: string, key: string, sandbox: WorkspaceSandbox): Promise<string> {
  let relative: string;
  try {
    const resolved = await sandbox.resolveForModel(file);
    relative = resolved.relative;
    if (resolved.excluded?.by === "deny") throw denied(key, file, resolved.excluded.pattern);
  } catch (error) {
    if (error instanceof WorkspaceEscapeError) {
      throw new WorkspaceEscapeError(
        `${key}: knowledge file ${file} is outside the workspace ${sandbox.root} (${error.message}) Knowledge files obey the task files' rules; to read files from a folder outside the workspace, list that folder in "knowledge_allow_outside" in builder.config.json.`,
        { key, path: file, workspace: sandbox.root },
      );
    }
    throw error;
  }
  const state = await sandbox.readState(relative);
  if (!state.exists) throw Object.assign(new Error("no such file"), { code: "ENOENT" });
  const deniedAt = state.physical === undefined ? undefined : deniedAnywhere(sandbox, state.physical);
  if (deniedAt) throw denied(key, file, deniedAt);
  return state.content.toString("utf8");
}

/** Under an allow-listed folder outside the workspace: the deny list applies relative to that folder; logged. */
async function readAllowedOutside(
  file: string,
  key: string,
  folder: { real: string; configured: string; file: string },
  access: KnowledgeAccess,
): Promise<string> {
  const relative = path.relative(folder.real, folder.file).split(path.sep).join("/");
  const deniedAt = deniedAnywhere(access.sandbox, relative);
  if (deniedAt) throw denied(key, file, deniedAt);
  // Opened non-blocking (a FIFO cannot hang the run) and checked to be the regular file that was allowed.
  const handle = await open(folder.file, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    if (!(await handle.stat()).isFile())
      throw new ConfigError(`${key}: knowledge file ${file} is not a regular file.`, { key, path: file });
    const content = await handle.readFile("utf8");
    (access.logger ?? getLogger()).info(
      { key, file, allowed_by: folder.configured },
      "knowledge file read from outside the workspace (knowledge_allow_outside)",
    );
    return content;
  } finally {
    await handle.close();
  }
}

/** The allow-listed folder the file really lies in (both real paths), if any. */
async function allowingFolder(
  file: string,
  allowOutside: readonly string[],
): Promise<{ real: string; configured: string; file: string } | undefined> {
  if (allowOutside.length === 0) return undefined;
  const realFile = await realpath(file).catch(() => undefined);
  if (realFile === undefined) return undefined;
  for (const configured of allowOutside) {
    const real = await realpath(configured).catch(() => undefined);
    if (real === undefined) continue;
    const inside = path.relative(real, realFile);
    if (inside !== "" && inside !== ".." && !inside.startsWith(`..${path.sep}`) && !path.isAbsolute(inside))
      return { real, configured, file: realFile };
  }
  return undefined;
}

/** The deny pattern that matches the path or any folder above it. */
function deniedAnywhere(sandbox: WorkspaceSandbox, relative: string): string | undefined {
  const parts = relative.split("/");
  for (let i = 1; i <= parts.length; i += 1) {
    const candidate = parts.slice(0, i).join("/") + (i === parts.length ? "" : "/");
    const found = sandbox.filter.denied(candidate);
    if (found) return found.pattern;
  }
  return undefined;
}

function denied(key: string, file: string, pattern: string): PathDeniedError {
  return new PathDeniedError(
    `${key}: knowledge file ${file} matches the deny list (${pattern}), so Builder does not put it in the prompt. Point the config at another file, or add "!${pattern}" to "deny" if it really holds no secrets.`,
    { key, path: file, pattern },
  );
}

function resolvePack(
  packs: Readonly<Record<string, readonly string[]>>,
  packName: string,
): { name: string; files: readonly string[] } {
  const name = packName.trim();
  if (name === "") return { name, files: [] };
  const pack = packs[name];
  if (pack) return { name, files: pack };
  if (name === "default") return { name, files: [] };
  const available = Object.keys(packs);
  if (available.length === 0) return packAsLabel(name);
  throw new TaskValidationError(
    `constraints.pack: no context pack named "${name}". ${available.length > 0 ? `Configured packs: ${available.join(", ")}.` : "No packs are configured in builder.config.json."} Use "" for none.`,
    { pack: name, available },
  );
}

const labelsWarned = new Set<string>();

/**
 * With no packs configured at all, a task's pack name is a label (seed tasks say `"pack": "crm_pack"`
 * for a pack that lives elsewhere): warn once per name and go on without extra files. Once packs are
 * configured, an unknown name stays TASK_INVALID, which catches typos.
 */
function packAsLabel(name: string): { name: string; files: readonly string[] } {
  if (!labelsWarned.has(name)) {
    labelsWarned.add(name);
    getLogger().warn(
      { pack: name },
      `constraints.pack "${name}" is used as a label: builder.config.json configures no context packs, so no pack files are added.`,
    );
  }
  return { name, files: [] };
}
