/** Byte units, binary as memory is counted. */
export const GIB = 1024 ** 3;
export const MIB = 1024 ** 2;

/** Rounds to `digits` decimals (2 by default), for numbers that are printed or stored in JSONL. */
export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** "31.3 GiB", "512.0 MiB": binary units, as GPUs report memory. */
export function formatBytes(bytes: number): string {
  if (Math.abs(bytes) >= GIB) return `${(bytes / GIB).toFixed(1)} GiB`;
  if (Math.abs(bytes) >= MIB) return `${(bytes / MIB).toFixed(1)} MiB`;
  if (Math.abs(bytes) >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}
