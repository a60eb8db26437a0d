export interface Line {
  name: string;
  cents: number;
  quantity: number;
}

/** The cart's total, formatted. */
export function cartTotal(lines: readonly Line[]): string {
  const cents = lines.reduce((sum, line) => sum + line.cents * line.quantity, 0);
  return formatPrice(cents);
}

/** Cents as "12.34 EUR". */
export function formatPrice(cents: number): string {
  return `${(cents / 100).toFixed(2)} EUR`;
}
