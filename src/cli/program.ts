import { Command } from "commander";
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
import { VERSION } from "../version.js";

/** Builds the `builder` program with every command registered. */
export function createProgram(): Command {
  const program = new Command("builder")
    .description("Builder: a local-first coding agent on your own model (llama.cpp in-process, Ollama, or an OpenAI-compatible server)")
    .version(VERSION)
    .showHelpAfterError()
    .exitOverride();
  program.addCommand(runCommand());
  program.addCommand(demoCommand());
  program.addCommand(applyCommand());
  program.addCommand(undoCommand());
  program.addCommand(serveCommand());
  program.addCommand(doctorCommand());
  program.addCommand(modelsCommand());
  program.addCommand(statsCommand());
  program.addCommand(costCommand());
  program.addCommand(datasetCommand());
  program.addCommand(modelfileCommand());
  program.addCommand(evalCommand());
  inheritSettings(program);
  return program;
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
