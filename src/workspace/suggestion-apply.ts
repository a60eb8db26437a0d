import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { describeIssues } from "../errors/describe-issues.js";
import { TaskValidationError } from "../errors/errors.js";
import { BaseHashesSchema, ChangeOutputSchema } from "../task/schema.js";
import { checkRunId } from "./backups.js";
import { workspaceNotWritable, writeBuilderFile } from "./builder-dir.js";
import { applyEdits, type ApplyOptions, type ApplyResult } from "./apply.js";
import type { FileEdit } from "./file-edits.js";
import { listWorkspaceFiles } from "./list-files.js";
import type { WorkspaceSandbox } from "./sandbox.js";
import { detectTestConvention, isTestFile, testPathFor } from "./test-placement.js";

/** What `builder apply` accepts: a suggestion from `builder run` (extra fields are ignored), or just a path and code. */
export const AppliableSuggestionSchema = z.object({
  file_path: z.string().min(1),
  suggested_code: z.string(),
  tests: z.string().optional(),
  base_hashes: BaseHashesSchema.optional(),
  /** Every file the suggestion changes (edit answers): when present, these are written, created and deleted, not just `file_path` and `tests`. */
  changes: z.array(ChangeOutputSchema).optional(),
  /** Read only for its verdict (`builder apply` warns about a FAILED one); anything unreadable is ignored. */
  verification: z.object({ verdict: z.string() }).partial().optional().catch(undefined),
});

export type AppliableSuggestion = z.infer<typeof AppliableSuggestionSchema>;

/** The result of {@link applySuggestion}: the apply result and where the tests went. */
export interface SuggestionApplyResult extends ApplyResult {
  /** The test file written (workspace-relative), when the suggestion had tests. */
  testPath?: string;
}

/** Reads and validates a suggestion JSON file. */
export async function readSuggestionFile(file: string): Promise<AppliableSuggestion> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new TaskValidationError(
      `Cannot read suggestion ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}. Pass the JSON that builder run printed.`,
      { source: file },
    );
  }
  return parseSuggestionJson(text, file);
}

/** Validates suggestion JSON text; `source` names where it came from in messages. */
export function parseSuggestionJson(text: string, source: string): AppliableSuggestion {
  const file = source;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new TaskValidationError(
      `Suggestion in ${file} is not valid JSON (${(error as Error).message}). Pass the JSON that builder run printed.`,
      { source: file },
    );
  }
  const parsed = AppliableSuggestionSchema.safeParse(value);
  if (!parsed.success) {
    throw new TaskValidationError(
      `Suggestion ${file} is invalid: ${describeIssues(parsed.error)}. It needs at least "file_path" and "suggested_code".`,
      { source: file },
    );
  }
  return parsed.data;
}

/**
 * The edits a suggestion makes: `suggested_code` to `file_path`, and `tests` (when present) to the
 * test file the workspace's convention puts next to it. Each carries the hash recorded when the
 * prompt was built, so a file changed since is refused.
 */
export async function editsForSuggestion(
  suggestion: AppliableSuggestion,
  sandbox: WorkspaceSandbox,
): Promise<{ edits: FileEdit[]; testPath?: string }> {
  const target = sandbox.relative(suggestion.file_path);
  const expected = (relative: string): string | null | undefined => suggestion.base_hashes?.[relative];
  if (suggestion.changes && suggestion.changes.length > 0) {
    // An edit answer: each change carries its complete new content (null: delete), checked against its base hash.
    const edits: FileEdit[] = suggestion.changes.map((change) => {
      const relative = sandbox.relative(change.path);
      return change.content === null
        ? { kind: "delete", path: relative, expected: expected(relative) }
        : { kind: "write", path: relative, content: change.content, expected: expected(relative) };
    });
    const test = suggestion.changes.find(
      (c) => c.content !== null && isTestFile(sandbox.relative(c.path)) && sandbox.relative(c.path) !== target,
    );
    return test ? { edits, testPath: sandbox.relative(test.path) } : { edits };
  }
  const edits: FileEdit[] = [
    { kind: "write", path: target, content: suggestion.suggested_code, expected: expected(target) },
  ];
  if (!suggestion.tests || suggestion.tests.trim() === "" || isTestFile(target)) return { edits };
  const listing = await listWorkspaceFiles(sandbox);
  const testPath = testPathFor(
    target,
    detectTestConvention(
      listing.files.map((f) => f.path),
      target,
    ),
  );
  edits.push({ kind: "write", path: testPath, content: suggestion.tests, expected: expected(testPath) });
  return { edits, testPath };
}

/** Applies a suggestion (or, with `dryRun`, returns its diff); see {@link applyEdits} for the guarantees. */
export async function applySuggestion(
  suggestion: AppliableSuggestion,
  options: ApplyOptions,
): Promise<SuggestionApplyResult> {
  const { edits, testPath } = await editsForSuggestion(suggestion, options.sandbox);
  const result = await applyEdits(edits, options);
  return testPath ? { ...result, testPath } : result;
}

/**
 * The base hashes to ship with a suggestion: those recorded when the prompt was built, plus the
 * current hash of every other file the suggestion would write (the model may pick a file the task did
 * not name), so that a later `builder apply` notices any change made in between.
 */
export async function baseHashesFor(
  suggestion: AppliableSuggestion,
  sandbox: WorkspaceSandbox,
  atPrompt: Readonly<Record<string, string | null>>,
): Promise<Record<string, string | null>> {
  const hashes: Record<string, string | null> = { ...atPrompt };
  const { edits } = await editsForSuggestion({ ...suggestion, base_hashes: undefined }, sandbox);
  for (const edit of edits) {
    const relative = sandbox.relative(edit.path);
    if (relative in hashes) continue;
    const resolved = await sandbox.resolveForWrite(relative);
    hashes[relative] = (await sandbox.readState(resolved.relative)).hash;
  }
  return hashes;
}

/** Keeps a run's suggestion as `.builder/suggestions/<run-id>.json`, so a dry run can be applied later; returns the path. */
export async function saveSuggestion(workspaceRoot: string, runId: string, suggestion: unknown): Promise<string> {
  const file = path.join(workspaceRoot, ".builder", "suggestions", `${checkRunId(runId)}.json`);
  try {
    await writeBuilderFile(workspaceRoot, file, JSON.stringify(suggestion, null, 2) + "\n");
  } catch (error) {
    throw workspaceNotWritable(workspaceRoot, error) ?? error;
  }
  return file;
}
