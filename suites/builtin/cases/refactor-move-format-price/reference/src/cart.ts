import { formatPrice } from "./money.js";

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
