/** Milliseconds per unit. */
export const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Milliseconds in a duration like "1h30m" or "2d 4h". */
export function parseDuration(text: string): number {
  const compact = text.replace(/\s+/g, "");
  if (!/^(\d+(ms|s|m|h|d))+$/.test(compact)) throw new Error(`not a duration: "${text}"`);
  let total = 0;
  for (const match of compact.matchAll(/(\d+)(ms|s|m|h|d)/g)) total += Number(match[1]) * (UNIT_MS[match[2] ?? ""] ?? 0);
  return total;
}
