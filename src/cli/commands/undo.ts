import { Command } from "commander";
import { getLogger } from "../../telemetry/logger.js";
import { WorkspaceSandbox } from "../../workspace/sandbox.js";
import { undoRun } from "../../workspace/undo.js";
import { addWorkspaceFlags, configFromFlags, type ModelFlags } from "../shared-options.js";

interface UndoFlags extends ModelFlags {
  dryRun?: boolean;
  force?: boolean;
}

/** `builder undo [run-id]`: restores exactly what an applied run changed. */
export function undoCommand(): Command {
  const command = new Command("undo")
    .description("Restore the files an applied run changed (default: the latest run) and remove the files it created")
    .argument("[run-id]", "the run to undo (see .builder/backups/); default: the latest applied run")
    .option("--dry-run", "print the unified diff on stdout; restore nothing")
    .option(
      "--force",
      "restore even files that changed after the run wrote them (their current content is backed up first)",
    );
  addWorkspaceFlags(command);
  return command.action(async (runId: string | undefined, flags: UndoFlags) => {
    const config = configFromFlags(flags);
    const sandbox = await WorkspaceSandbox.fromConfig(config);
    const result = await undoRun({ sandbox, runId, force: flags.force, dryRun: flags.dryRun });
    if (result.dryRun) {
      process.stdout.write(result.diff);
      getLogger().info({ run_id: result.runId, files: result.files }, "dry run: nothing was restored");
      return;
    }
    process.stdout.write(
      JSON.stringify({ undone: result.runId, undo_run_id: result.undoRunId ?? null, files: result.files }, null, 2) +
        "\n",
    );
    getLogger().info(
      result.undoRunId
        ? `undid run ${result.runId}; to redo it: builder undo ${result.undoRunId}`
        : `run ${result.runId} left nothing to restore`,
    );
  });
}
