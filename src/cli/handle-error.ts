import { exitCodeFor, toBuilderError } from "../errors/errors.js";
import { RunFailure } from "../agent/run-failure.js";
import { maskSecrets } from "../telemetry/mask-secrets.js";

/**
 * The one place where failures become exit codes: prints the error as one JSON line on stderr and
 * returns the exit code for it.
 */
export function reportFailure(caught: unknown): number {
  const error = toBuilderError(caught instanceof RunFailure ? caught.error : caught);
  // Servers quote API keys back in their errors; the error line is masked like every log line.
  process.stderr.write(JSON.stringify(maskSecrets(error.toJSON())) + "\n");
  return exitCodeFor(error);
}
