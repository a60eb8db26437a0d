import { getLogger } from "../telemetry/logger.js";
import type { SuggestionApplyResult } from "../workspace/suggestion-apply.js";

/**
 * Prints an apply's result: the unified diff on stdout for a dry run, else (with `json`, the default)
 * one JSON object `{run_id, files, backup_dir, test_path}`; warnings go to the log on stderr.
 * `builder run --apply` passes `json: false` because its stdout already carries the suggestion.
 */
export function printApplyResult(
  result: SuggestionApplyResult,
  options: { json?: boolean; /** false: the caller prints the diff (as a JSON field). */ diff?: boolean } = {},
): void {
  const logger = getLogger();
  if (result.stale.length > 0) {
    logger.warn(
      { paths: result.stale },
      result.dryRun
        ? "these files changed since the prompt was built; applying needs --force"
        : "overwrote files that changed since the prompt was built (--force); their contents are backed up",
    );
  }
  if (result.dryRun) {
    if (options.diff !== false) process.stdout.write(result.diff);
    logger.info(
      { files: result.files },
      result.diff === "" ? "dry run: nothing would change" : "dry run: nothing was written",
    );
    return;
  }
  // Applying a suggestion a second time writes nothing: say so, rather than leave a list of "unchanged".
  if (result.files.length > 0 && result.files.every((file) => file.action === "unchanged"))
    logger.info(
      { files: result.files.map((file) => file.path) },
      "already applied: every file already holds this suggestion's content; nothing was written",
    );
  if (options.json === false) return;
  process.stdout.write(
    JSON.stringify(
      {
        run_id: result.runId,
        files: result.files,
        backup_dir: result.backupDir ?? null,
        test_path: result.testPath ?? null,
      },
      null,
      2,
    ) + "\n",
  );
}
