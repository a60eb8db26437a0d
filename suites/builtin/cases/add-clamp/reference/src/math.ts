/** Rounds to `digits` decimal places. */
export function roundTo(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** `value` limited to [min, max]. */
export function clamp(value: number, min: number, max: number): number {
  if (min > max) throw new RangeError(`min (${min}) is greater than max (${max})`);
  return Math.min(max, Math.max(min, value));
}
