/** Milliseconds per unit of a Go duration string ("5m", "1h30m", "300ms"), as Ollama parses `keep_alive`. */
const UNITS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Ollama's default `keep_alive`: five minutes. */
export const DEFAULT_KEEP_ALIVE_MS = 5 * 60_000;

/**
 * The longest keep-alive there is: Ollama's durations are int64 nanoseconds (about 292 years). A longer
 * one means "forever", as a negative one does; without the clamp, its expiry date is not a date.
 */
export const MAX_KEEP_ALIVE_MS = 9_223_372_036_854;

/**
 * Reads an Ollama `keep_alive`: a number of seconds or a Go duration string; negative means "keep the
 * model loaded forever" (Infinity), 0 means "unload after this request". Returns undefined when the
 * value is not a duration. Anything beyond {@link MAX_KEEP_ALIVE_MS} is forever too.
 */
export function parseKeepAlive(value: string | number): number | undefined {
  const ms = parseDuration(value);
  return ms !== undefined && ms > MAX_KEEP_ALIVE_MS ? Infinity : ms;
}

function parseDuration(value: string | number): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? (value < 0 ? Infinity : value * 1000) : undefined;
  const text = value.trim();
  if (/^-?\d+(\.\d+)?$/.test(text)) return parseDuration(Number(text));
  const match = /^(-?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text);
  if (!match) return undefined;
  let ms = 0;
  for (const part of match[2].matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(part[1]) * UNITS[part[2]];
  return match[1] === "-" ? Infinity : ms;
}
