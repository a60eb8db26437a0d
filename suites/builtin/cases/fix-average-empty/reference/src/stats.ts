/** The arithmetic mean; a RangeError for an empty list, which has none. */
export function average(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("average of an empty list");
  let sum = 0;
  for (const value of values) sum += value;
  return sum / values.length;
}
