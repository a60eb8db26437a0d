import { pino, type Logger, type LevelWithSilent } from "pino";
import { ConfigError } from "../errors/errors.js";
import { maskSecrets, maskSecretsInText } from "./mask-secrets.js";
import { colorAllowed, defaultLogFormat, LOG_FORMATS, prettyDestination, type LogFormat } from "./pretty-log.js";

export type { Logger } from "pino";

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where JSON lines go; defaults to stderr (fd 2) because stdout carries results only. */
  destination?: NodeJS.WritableStream | number;
  /** `json` or `pretty` (default: BUILDER_LOG_FORMAT, else pretty when stderr is a terminal). Only for stderr. */
  format?: LogFormat;
}

/**
 * Creates the structured logger: JSON lines on stderr, secrets masked in messages and in every
 * logged object.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? levelFromEnv();
  const toStderr = options.destination === undefined || options.destination === 2;
  const format = options.format ?? safeFormatFromEnv() ?? defaultLogFormat(Boolean(process.stderr.isTTY));
  const destination =
    typeof options.destination === "object"
      ? options.destination
      : toStderr && format === "pretty"
        ? prettyDestination(process.stderr, colorAllowed(process.env) && Boolean(process.stderr.isTTY))
        : pino.destination({ fd: options.destination ?? 2, sync: true });
  return pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: {
        level: (label) => ({ level: label }),
        log: (object) => maskSecrets(object),
      },
      hooks: {
        logMethod(args, method) {
          const masked = args.map((arg: unknown) => (typeof arg === "string" ? maskSecretsInText(arg) : arg));
          method.apply(this, masked as Parameters<typeof method>);
        },
      },
      // Errors are serialized after formatters.log ran, so their message and stack are masked here.
      serializers: { err: (error: Error) => maskSecrets(pino.stdSerializers.err(error)) },
    },
    destination,
  );
}

/** The levels the logger knows (pino's), for `--log-level` and `BUILDER_LOG_LEVEL`. */
export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;

/**
 * `BUILDER_LOG_LEVEL`, checked: unset means `info`; anything else than a known level is a
 * {@link ConfigError} that names the allowed levels (a typo must not silently mean `info`).
 */
export function logLevelFromEnv(env: NodeJS.ProcessEnv = process.env): LevelWithSilent {
  const fromEnv = env.BUILDER_LOG_LEVEL;
  if (fromEnv === undefined || fromEnv === "") return "info";
  if ((LOG_LEVELS as readonly string[]).includes(fromEnv)) return fromEnv as LevelWithSilent;
  throw new ConfigError(`BUILDER_LOG_LEVEL="${fromEnv}" is not a log level. Use one of: ${LOG_LEVELS.join(", ")}.`, {
    variable: "BUILDER_LOG_LEVEL",
    allowed: [...LOG_LEVELS],
  });
}

/** `BUILDER_LOG_FORMAT` (json or pretty), checked like BUILDER_LOG_LEVEL; unset: undefined. */
export function logFormatFromEnv(env: NodeJS.ProcessEnv = process.env): LogFormat | undefined {
  const value = env.BUILDER_LOG_FORMAT;
  if (value === undefined || value === "") return undefined;
  if ((LOG_FORMATS as readonly string[]).includes(value)) return value as LogFormat;
  throw new ConfigError(`BUILDER_LOG_FORMAT="${value}" is not a log format. Use json or pretty.`, {
    variable: "BUILDER_LOG_FORMAT",
  });
}

function safeFormatFromEnv(): LogFormat | undefined {
  // The CLI has already refused a bad value (see program.ts); a library caller gets the default.
  try {
    return logFormatFromEnv();
  } catch {
    return undefined;
  }
}

function levelFromEnv(): LevelWithSilent {
  // The CLI has already refused a bad value (see program.ts); a library caller gets the default.
  try {
    return logLevelFromEnv();
  } catch {
    return "info";
  }
}

let shared: Logger | undefined;

/** The process-wide logger (created on first use). */
export function getLogger(): Logger {
  shared ??= createLogger();
  return shared;
}

/** Replaces the process-wide logger (the CLI does this after reading --log-level / --quiet). */
export function setLogger(logger: Logger): void {
  shared = logger;
}
