/**
 * Nearest-rank percentile (p in 0..1); undefined for no values. Sorts a copy unless `sorted` says
 * the values are already in ascending order.
 */
export function percentile(values: ArrayLike<number>, p: number, sorted = false): number | undefined {
  if (values.length === 0) return undefined;
  const ordered = sorted ? values : Float64Array.from(values).sort();
  const rank = Math.max(1, Math.ceil(p * ordered.length));
  return ordered[Math.min(rank, ordered.length) - 1];
}
