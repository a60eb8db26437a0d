/** The last element, or undefined for an empty list. */
export function last<T>(items: readonly T[]): T | undefined {
  return items[items.length - 1];
}

/** Splits `items` into consecutive groups of `size` (the last may be shorter). */
export function chunk<T>(items: readonly T[], size: number): T[][] {
  if (!Number.isInteger(size) || size < 1) throw new RangeError(`size must be a positive whole number, got ${size}`);
  const groups: T[][] = [];
  for (let i = 0; i < items.length; i += size) groups.push(items.slice(i, i + size));
  return groups;
}
