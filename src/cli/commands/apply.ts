import { Command } from "commander";
import { readStreamText } from "../../task/read-task.js";
import { getLogger } from "../../telemetry/logger.js";
import { newRunId } from "../../format/run-id.js";
import { WorkspaceSandbox } from "../../workspace/sandbox.js";
import { applySuggestion, parseSuggestionJson, readSuggestionFile } from "../../workspace/suggestion-apply.js";
import { addWorkspaceFlags, configFromFlags, type ModelFlags } from "../shared-options.js";
import { printApplyResult } from "../print-apply.js";

interface ApplyFlags extends ModelFlags {
  dryRun?: boolean;
  force?: boolean;
}

/** `builder apply suggestion.json`: writes a suggestion into the workspace, backed up and undoable. */
export function applyCommand(): Command {
  const command = new Command("apply")
    .description(
      "Write a suggestion (the JSON builder run printed) into the workspace, with backups; undo with builder undo",
    )
    .argument("<suggestion>", "suggestion JSON file, or - for stdin")
    .option("--dry-run", "print the unified diff on stdout; write nothing")
    .option("--force", "write even files that changed since the prompt was built (they are backed up first)");
  addWorkspaceFlags(command);
  return command.action(async (file: string, flags: ApplyFlags) => {
    const config = configFromFlags(flags);
    const suggestion =
      file === "-" ? parseSuggestionJson(await readStreamText(process.stdin), "stdin") : await readSuggestionFile(file);
    if (suggestion.verification?.verdict === "FAILED" && !flags.dryRun) {
      getLogger().warn(
        "this suggestion FAILED verification (see its verification.checks); it is written as you asked, backed up: builder undo reverts it",
      );
    }
    if (!suggestion.base_hashes) {
      getLogger().warn(
        "the suggestion has no base_hashes, so Builder cannot tell whether its files changed since it was made; the current contents are backed up before writing",
      );
    }
    const sandbox = await WorkspaceSandbox.fromConfig(config);
    const result = await applySuggestion(suggestion, {
      sandbox,
      runId: newRunId(),
      dryRun: flags.dryRun,
      force: flags.force,
      source: "apply",
    });
    printApplyResult(result);
  });
}
