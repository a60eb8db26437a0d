import { Command, Option } from "commander";
import { runCommand } from "./commands/run.js";
import { demoCommand } from "./commands/demo.js";
import { applyCommand } from "./commands/apply.js";
import { undoCommand } from "./commands/undo.js";
import { serveCommand } from "./commands/serve.js";
import { doctorCommand } from "./commands/doctor.js";
import { modelsCommand } from "./commands/models.js";
import { statsCommand } from "./commands/stats.js";
import { costCommand } from "./commands/cost.js";
import { datasetCommand } from "./commands/dataset.js";
import { modelfileCommand } from "./commands/modelfile.js";
import { evalCommand } from "./commands/eval.js";
import { initCommand } from "./commands/init.js";
import { createLogger, logFormatFromEnv, logLevelFromEnv, setLogger } from "../telemetry/logger.js";
import { LOG_FORMATS } from "../telemetry/pretty-log.js";
import { psCommand } from "./commands/ps.js";
import { stopCommand } from "./commands/stop.js";
import { VERSION } from "../version.js";
import { setLoadProgressListener } from "../backends/embedded/load-progress.js";
import { createLoadProgressBars, shouldDrawLoadProgress } from "./load-progress-bars.js";
import { setDrawRunProgress } from "./run-progress.js";
import { mcpCommand } from "./commands/mcp.js";

/** Builds the `builder` program with every command registered. */
export function createProgram(): Command {
  const program = new Command("builder")
    .description(
      "Builder: a local-first coding agent on your own model (llama.cpp in-process, Ollama, or an OpenAI-compatible server)",
    )
    .version(VERSION)
    // One line and the hint, not the whole help: the error must stay visible.
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    // A bad BUILDER_LOG_LEVEL / BUILDER_LOG_FORMAT is refused before any command logs a line.
    .hook("preAction", (_program, action) =>
      applyStderrSettings(action.opts<{ logFormat?: string; quiet?: boolean }>()),
    );
  program.addCommand(runCommand());
  program.addCommand(demoCommand());
  program.addCommand(applyCommand());
  program.addCommand(undoCommand());
  program.addCommand(serveCommand());
  program.addCommand(mcpCommand());
  program.addCommand(doctorCommand());
  program.addCommand(modelsCommand());
  program.addCommand(statsCommand());
  program.addCommand(costCommand());
  program.addCommand(datasetCommand());
  program.addCommand(modelfileCommand());
  program.addCommand(evalCommand());
  program.addCommand(initCommand());
  program.addCommand(psCommand());
  program.addCommand(stopCommand());
  inheritSettings(program);
  addLogFormatOption(program);
  return program;
}

/** Every command that takes --log-level takes --log-format too. */
function addLogFormatOption(parent: Command): void {
  for (const command of parent.commands) {
    if (command.options.some((option) => option.long === "--log-level")) {
      command.addOption(
        new Option(
          "--log-format <format>",
          "stderr log lines: json, or pretty (default: pretty on a terminal, else json; BUILDER_LOG_FORMAT)",
        ).choices([...LOG_FORMATS]),
      );
    }
    addLogFormatOption(command);
  }
}

/**
 * Validates the logging variables, applies `--log-format`, and chooses whether model loads draw
 * progress bars. The flag is passed on through BUILDER_LOG_FORMAT so that every logger the command
 * creates later (--log-level, --quiet) keeps it.
 */
function applyStderrSettings({ logFormat: flag, quiet }: { logFormat?: string; quiet?: boolean }): void {
  logLevelFromEnv(process.env);
  logFormatFromEnv(process.env);
  if (flag !== undefined) {
    process.env.BUILDER_LOG_FORMAT = flag;
    setLogger(createLogger());
  }
  // The engine reports load progress to whoever listens; the CLI draws it on a terminal only (not with --quiet).
  const draw = quiet !== true && shouldDrawLoadProgress(process.stderr, process.env);
  setLoadProgressListener(draw ? createLoadProgressBars(process.stderr) : undefined);
  setDrawRunProgress(draw);
}

/**
 * Commander copies the parent's settings only into subcommands made with `.command()`, not into those
 * added with `addCommand()`. Without this, `builder run --bogus` would exit 1 from inside commander
 * instead of reaching main's handler, which exits 2 on usage errors.
 */
function inheritSettings(parent: Command): void {
  for (const command of parent.commands) {
    command.copyInheritedSettings(parent);
    inheritSettings(command);
  }
}
