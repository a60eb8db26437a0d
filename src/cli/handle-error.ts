import { exitCodeFor, toBuilderError } from "../errors/errors.js";
import { RunFailure } from "../agent/run-task.js";

/**
 * The one place where failures become exit codes: prints the error as one JSON line on stderr and
 * returns the exit code for it.
 */
export function reportFailure(caught: unknown): number {
  const error = toBuilderError(caught instanceof RunFailure ? caught.error : caught);
  process.stderr.write(JSON.stringify(error.toJSON()) + "\n");
  return exitCodeFor(error);
}
