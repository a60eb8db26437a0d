import { UsageError } from "../errors/errors.js";
import type { Period } from "./metrics-reader.js";

const UNITS_MS: Readonly<Record<string, number>> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * Reads a `--since` / `--until` value: an ISO date or date-time ("2025-01-31", "2025-01-31T12:00Z"),
 * or an age such as "30m", "24h", "7d", "2w" counted back from `now`.
 */
export function parseTimeBound(value: string, flag: string, now = new Date()): Date {
  const relative = /^(\d+(?:\.\d+)?)\s*([mhdw])$/i.exec(value.trim());
  if (relative) return new Date(now.getTime() - Number(relative[1]) * UNITS_MS[relative[2].toLowerCase()]);
  const at = Date.parse(value);
  if (Number.isNaN(at)) {
    throw new UsageError(
      `${flag} "${value}" is not a date. Use an ISO date (2025-01-31, 2025-01-31T12:00:00Z) or an age (30m, 24h, 7d, 2w).`,
    );
  }
  return new Date(at);
}

/** Builds the period from the two flags and checks that it is not empty. */
export function periodFromFlags(since: string | undefined, until: string | undefined, now = new Date()): Period {
  const period: Period = {
    since: since !== undefined ? parseTimeBound(since, "--since", now) : undefined,
    until: until !== undefined ? parseTimeBound(until, "--until", now) : undefined,
  };
  if (period.since && period.until && period.since > period.until) {
    throw new UsageError(
      `--since (${period.since.toISOString()}) is after --until (${period.until.toISOString()}); nothing can match.`,
    );
  }
  return period;
}
