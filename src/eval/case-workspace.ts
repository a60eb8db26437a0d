import { cp, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Logger } from "pino";
import { ScratchCopy } from "../verify/scratch.js";
import type { CaseWorkspace } from "./case.js";

/** A case's own copy of its workspace: every change of the case happens here; `dispose` removes it. */
export interface OpenedWorkspace {
  root: string;
  dispose(): Promise<void>;
}

/**
 * A fresh copy of a case's workspace, never the real one: a detached git worktree of the case's
 * commit (node_modules shared through links, as verification does), or a copy of the suite's folder.
 */
export async function openCaseWorkspace(workspace: CaseWorkspace, logger: Logger): Promise<OpenedWorkspace> {
  if (workspace.kind === "git") {
    const copy = await ScratchCopy.create(workspace.repo, logger, { ref: workspace.commit });
    return { root: copy.root, dispose: () => copy.dispose() };
  }
  const temp = await mkdtemp(path.join(tmpdir(), "builder-eval-"));
  const root = path.join(temp, "workspace");
  try {
    if (workspace.common) await cp(workspace.common, root, { recursive: true });
    await cp(workspace.dir, root, { recursive: true, force: true });
  } catch (error) {
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  return { root, dispose: () => rm(temp, { recursive: true, force: true }) };
}
