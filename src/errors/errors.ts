/**
 * Every failure Builder reports is a `BuilderError` with a stable `code` (for scripts) and a message
 * that says what went wrong and what to do next (for people). The CLI maps codes to exit codes in
 * one place: `exitCodeFor` below.
 */
export type BuilderErrorCode =
  | "TASK_INVALID"
  | "CONFIG_INVALID"
  | "USAGE"
  | "MODEL_NOT_CONFIGURED"
  | "MODEL_NOT_FOUND"
  | "MODEL_DOWNLOAD_FAILED"
  | "MODEL_LOAD_FAILED"
  | "CONTEXT_OVERFLOW"
  | "GENERATION_TRUNCATED"
  | "GENERATION_FAILED"
  | "ENGINE_FAULT"
  | "BACKEND_UNAVAILABLE"
  | "BACKEND_TIMEOUT"
  | "BACKEND_ERROR"
  | "WORKSPACE_ESCAPE"
  | "PATH_DENIED"
  | "FILE_CHANGED"
  | "APPLY_FAILED"
  | "BACKUP_UNTRUSTED"
  | "WORKSPACE_BUSY"
  | "VERIFICATION_FAILED"
  | "CHECKS_FAILED"
  | "SANDBOX_UNAVAILABLE"
  | "CANCELLED"
  | "INTERNAL";

/** Base class of all errors Builder reports on purpose. */
export class BuilderError extends Error {
  readonly code: BuilderErrorCode;
  /** Extra machine-readable facts (field names, limits, paths). */
  readonly details: Record<string, unknown>;

  constructor(code: BuilderErrorCode, message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
    this.details = details;
  }

  /** The JSON shape printed on stderr when a command fails. */
  toJSON(): { error: { code: BuilderErrorCode; message: string; details: Record<string, unknown> } } {
    return { error: { code: this.code, message: this.message, details: this.details } };
  }
}

/** The task JSON or flags do not describe a valid task. */
export class TaskValidationError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("TASK_INVALID", message, details);
  }
}

/** builder.config.json, .ollamarc or an environment override is invalid. */
export class ConfigError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("CONFIG_INVALID", message, details);
  }
}

/** The command line itself is wrong (unknown combination of flags, missing argument). */
export class UsageError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("USAGE", message, details);
  }
}

/** No model is configured, the file is missing, or it could not be downloaded or loaded. */
export class ModelError extends BuilderError {
  constructor(
    code: "MODEL_NOT_CONFIGURED" | "MODEL_NOT_FOUND" | "MODEL_DOWNLOAD_FAILED" | "MODEL_LOAD_FAILED",
    message: string,
    details: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(code, message, details, options);
  }
}

/**
 * `verify.sandbox` is "required" but this machine offers no sandbox (no bubblewrap, no usable
 * namespaces, no sandbox-exec): model-written code is not run at all.
 */
export class SandboxUnavailableError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("SANDBOX_UNAVAILABLE", message, details);
  }
}

/** The prompt (plus the room reserved for the answer) does not fit the context window. */
export class ContextOverflowError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("CONTEXT_OVERFLOW", message, details);
  }
}

/** Generation stopped at the token limit before the answer was complete. */
export class GenerationTruncatedError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("GENERATION_TRUNCATED", message, details);
  }
}

/** The model produced no usable answer (engine failure, unparseable output). */
export class GenerationError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super("GENERATION_FAILED", message, details, options);
  }
}

/**
 * llama.cpp failed on this request twice (a decode error, a failed state restore), once on the
 * sequence it had and once on a clean one. The sequence was reset: the next request starts clean.
 */
export class EngineFaultError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super("ENGINE_FAULT", message, details, options);
  }
}

/** How a connection to a model server was lost, when that is what failed. */
export type BackendFailureReason = "connection_refused" | "unreachable" | "connection_lost";

/** The typed facts of a {@link BackendError}; code branches on these, never on `details`. */
export interface BackendFacts {
  /** The server's URL (or host, for the admin clients). */
  endpoint?: string;
  /** The HTTP status the server answered. */
  status?: number;
  reason?: BackendFailureReason;
  /** Nothing of the answer had arrived: an endpoint pool may fail over to another endpoint. */
  endpointDown?: boolean;
  /** The server's own words, for callers that rephrase the error. */
  serverError?: string;
  /** Characters of the answer received before the failure. */
  receivedChars?: number;
  /** Further facts for the JSON report only (timeout key, request, URL). */
  extra?: Record<string, unknown>;
}

/** A model server could not be reached, timed out, or answered with an error. */
export class BackendError extends BuilderError {
  readonly endpoint: string | undefined;
  readonly status: number | undefined;
  readonly reason: BackendFailureReason | undefined;
  readonly endpointDown: boolean;
  readonly serverError: string | undefined;

  constructor(
    code: "BACKEND_UNAVAILABLE" | "BACKEND_TIMEOUT" | "BACKEND_ERROR",
    message: string,
    facts: BackendFacts = {},
    options?: ErrorOptions,
  ) {
    super(code, message, backendDetails(facts), options);
    this.endpoint = facts.endpoint;
    this.status = facts.status;
    this.reason = facts.reason;
    this.endpointDown = facts.endpointDown ?? false;
    this.serverError = facts.serverError;
  }
}

/** The facts as the JSON report has always named them (snake case; unset facts left out). */
function backendDetails(facts: BackendFacts): Record<string, unknown> {
  const named: Record<string, unknown> = {
    endpoint: facts.endpoint,
    status: facts.status,
    reason: facts.reason,
    endpoint_down: facts.endpointDown,
    server_error: facts.serverError,
    received_chars: facts.receivedChars,
  };
  return { ...facts.extra, ...Object.fromEntries(Object.entries(named).filter(([, value]) => value !== undefined)) };
}

/** A path resolves outside the workspace root. */
export class WorkspaceEscapeError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("WORKSPACE_ESCAPE", message, details);
  }
}

/** A path inside the workspace that Builder must not send or write (deny list, `.git`, `.builder`). */
export class PathDeniedError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("PATH_DENIED", message, details);
  }
}

/**
 * A path longer than the file system allows (255 bytes per name, 4096 bytes in all on Linux): refused
 * before any file operation, so it never ends as an internal ENAMETOOLONG.
 */
export class PathTooLongError extends PathDeniedError {}

/** The longest file or folder name, in bytes (NAME_MAX on Linux and macOS). */
export const MAX_NAME_BYTES = 255;
/** The longest path, in bytes, terminating NUL included (PATH_MAX: 4096 on Linux, 1024 on macOS). */
export const MAX_PATH_BYTES = process.platform === "darwin" ? 1024 : 4096;

/** A file changed on disk since Builder read it (for the prompt, or since a run applied it). */
export class FileChangedError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("FILE_CHANGED", message, details);
  }
}

/** Writing or restoring files failed; the message says what state the files are in. */
export class ApplyError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}, options?: ErrorOptions) {
    super("APPLY_FAILED", message, details, options);
  }
}

/**
 * A backup manifest in `.builder/backups/` that Builder did not write in this workspace (no valid
 * signature from the workspace's own key, e.g. one committed in a cloned repository) or that is
 * malformed; undo never uses it.
 */
export class BackupUntrustedError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("BACKUP_UNTRUSTED", message, details);
  }
}

/** Another Builder process holds the workspace's apply/undo lock and did not let go within the wait. */
export class WorkspaceBusyError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("WORKSPACE_BUSY", message, details);
  }
}

/**
 * The suggestion was produced but did not pass verification after the allowed repair rounds. The CLI
 * still prints the FAILED suggestion on stdout (so callers can inspect it) and exits with code 8.
 */
export class VerificationFailedError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("VERIFICATION_FAILED", message, details);
  }
}

/** `builder doctor` found at least one failing check (the report itself went to stdout). */
export class ChecksFailedError extends BuilderError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("CHECKS_FAILED", message, details);
  }
}

/** The caller cancelled the run (an MCP client's cancel, an aborted signal): nothing was written. */
export class CancelledError extends BuilderError {
  constructor(message = "The run was cancelled by its caller; nothing was written.") {
    super("CANCELLED", message);
  }
}

/** Exit codes, one per family of failure, so that scripts can branch on them. */
export const EXIT_CODES: Readonly<Record<BuilderErrorCode, number>> = {
  USAGE: 2,
  TASK_INVALID: 2,
  CONFIG_INVALID: 2,
  MODEL_NOT_CONFIGURED: 3,
  MODEL_NOT_FOUND: 3,
  MODEL_DOWNLOAD_FAILED: 3,
  MODEL_LOAD_FAILED: 3,
  CONTEXT_OVERFLOW: 4,
  GENERATION_TRUNCATED: 4,
  GENERATION_FAILED: 5,
  ENGINE_FAULT: 9,
  BACKEND_UNAVAILABLE: 6,
  BACKEND_TIMEOUT: 6,
  BACKEND_ERROR: 6,
  WORKSPACE_ESCAPE: 7,
  PATH_DENIED: 7,
  FILE_CHANGED: 7,
  APPLY_FAILED: 7,
  BACKUP_UNTRUSTED: 7,
  WORKSPACE_BUSY: 7,
  VERIFICATION_FAILED: 8,
  CHECKS_FAILED: 1,
  SANDBOX_UNAVAILABLE: 10,
  // As a shell reports a command ended by Ctrl-C (128 + SIGINT).
  CANCELLED: 130,
  INTERNAL: 70,
};

/** Maps any thrown value to the process exit code. */
export function exitCodeFor(error: unknown): number {
  return error instanceof BuilderError ? EXIT_CODES[error.code] : EXIT_CODES.INTERNAL;
}

/** Wraps an unknown thrown value so it can be reported as JSON. */
export function toBuilderError(error: unknown): BuilderError {
  if (error instanceof BuilderError) return error;
  const errno = error as NodeJS.ErrnoException;
  if (errno?.code === "ENAMETOOLONG") {
    // The sandbox refuses long paths up front; this catches any that still reach the file system.
    return new PathTooLongError(
      `The path ${errno.path ?? "(unknown)"} is longer than the file system allows (255 bytes per name, ${MAX_PATH_BYTES} bytes in all); use a shorter name.`,
      {
        path: errno.path,
        limit_name_bytes: MAX_NAME_BYTES,
        limit_path_bytes: MAX_PATH_BYTES,
      },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  return new BuilderError(
    "INTERNAL",
    `Unexpected internal error: ${message}. Please report it with the log above.`,
    {},
    { cause: error },
  );
}
