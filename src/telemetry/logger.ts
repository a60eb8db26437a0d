import { pino, type Logger, type LevelWithSilent } from "pino";
import { ConfigError } from "../errors/errors.js";
import { maskSecrets, maskSecretsInText } from "./mask-secrets.js";

export type { Logger } from "pino";

/** Options for {@link createLogger}. */
export interface LoggerOptions {
  level?: LevelWithSilent;
  /** Where JSON lines go; defaults to stderr (fd 2) because stdout carries results only. */
  destination?: NodeJS.WritableStream | number;
}

/**
 * Creates the structured logger: JSON lines on stderr, secrets masked in messages and in every
 * logged object.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? levelFromEnv();
  const destination =
    typeof options.destination === "object" ? options.destination : pino.destination({ fd: options.destination ?? 2, sync: true });
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
  throw new ConfigError(`BUILDER_LOG_LEVEL="${fromEnv}" is not a log level. Use one of: ${LOG_LEVELS.join(", ")}.`, { variable: "BUILDER_LOG_LEVEL", allowed: [...LOG_LEVELS] });
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
