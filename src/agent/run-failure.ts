import type { BackendInfo } from "../backends/types.js";
import type { BuilderError } from "../errors/errors.js";
import type { RunMetrics } from "../telemetry/metrics.js";

/**
 * Thrown when a run fails; carries the metrics that were recorded for it. Kept apart from the agent
 * loop so that the CLI's error handling does not load the engine and the TypeScript compiler.
 */
export class RunFailure extends Error {
  constructor(
    readonly error: BuilderError,
    readonly metrics: RunMetrics,
    readonly info: BackendInfo | undefined,
  ) {
    super(error.message, { cause: error });
  }
}
