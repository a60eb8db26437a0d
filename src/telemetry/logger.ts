import { pino, type Logger, type LevelWithSilent } from "pino";
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

function levelFromEnv(): LevelWithSilent {
  const fromEnv = process.env.BUILDER_LOG_LEVEL;
  const allowed: readonly string[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
  return fromEnv && allowed.includes(fromEnv) ? (fromEnv as LevelWithSilent) : "info";
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
