/** The values without repeats. */
export function unique<T>(values: readonly T[]): T[] {
  return [...new Set([...values].sort())];
}
