/** Byte units, binary as memory is counted. */
export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;

/** Rounds to `digits` decimals (2 by default), for numbers that are printed or stored in JSONL. */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
