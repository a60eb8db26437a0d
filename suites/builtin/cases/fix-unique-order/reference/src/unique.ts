/** The values without repeats, each at its first occurrence. */
export function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
