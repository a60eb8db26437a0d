import { exitCodeFor, toBuilderError } from "../errors/errors.js";
import { RunFailure } from "../agent/run-failure.js";
import { maskSecrets } from "../telemetry/mask-secrets.js";
import { logFormatFromEnv } from "../telemetry/logger.js";
import { defaultLogFormat, type LogFormat } from "../telemetry/pretty-log.js";

/**
 * The one place where failures become exit codes: prints the error on stderr (one JSON line, or on a
 * terminal with readable logs one readable line) and returns the exit code for it.
 */
export function reportFailure(caught: unknown, format: LogFormat = errorFormat()): number {
  const error = toBuilderError(caught instanceof RunFailure ? caught.error : caught);
  // Servers quote API keys back in their errors; the error line is masked like every log line.
  const masked = maskSecrets(error.toJSON()) as { error: { code: string; message: string } };
  const code = exitCodeFor(error);
  process.stderr.write(
    format === "pretty"
      ? `Error ${masked.error.code} (exit ${code}): ${masked.error.message}\n`
      : JSON.stringify(masked) + "\n",
  );
  return code;
}

/** The log format of this process's stderr: BUILDER_LOG_FORMAT, else pretty on a terminal. */
function errorFormat(): LogFormat {
  try {
    return logFormatFromEnv() ?? defaultLogFormat(Boolean(process.stderr.isTTY));
  } catch {
    return "json";
  }
}
