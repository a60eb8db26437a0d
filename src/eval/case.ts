import { z } from "zod";
import { BuilderTaskSchema, type BuilderTask } from "../task/schema.js";

/** A file as it should be in the case's workspace: its path (workspace-relative, POSIX) and content. */
export interface CaseFile {
  path: string;
  content: string;
}

/** Where a case's workspace comes from: a folder (copied) or a commit of a git repository (checked out). */
export type CaseWorkspace =
  /** `common`: a suite's shared files (tsconfig, package.json), copied first; the case's own folder goes over them. */
  { kind: "folder"; dir: string; common?: string } | { kind: "git"; repo: string; commit: string };

/**
 * One evaluation case: a task, the workspace it starts from, and the hidden check that decides pass
 * or fail after the answer is applied (tests the model never sees, then a command).
 */
export interface EvalCase {
  id: string;
  task: BuilderTask;
  workspace: CaseWorkspace;
  /** Files placed into the workspace after the answer is applied (they win over the answer's). */
  hidden: CaseFile[];
  /** The shell command whose exit status is the verdict: 0 passes. Runs in the workspace copy. */
  checkCommand: string;
  /** The known-good change (a commit's own), used by `--validate` and `--reference`. */
  reference?: CaseFile[];
}

/** `case.json` of a suite case folder: the task and the hidden check's command. */
export const CaseFileSchema = z
  .object({
    task: BuilderTaskSchema,
    /** `{node}` stands for Node with Builder's TypeScript loader, so `.ts` tests run under `node --test`. */
    check: z.string().trim().min(1, "must be the command that runs the hidden tests"),
  })
  .strict();

export type CaseJson = z.infer<typeof CaseFileSchema>;
