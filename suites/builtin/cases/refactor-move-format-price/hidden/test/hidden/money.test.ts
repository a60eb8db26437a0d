import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { cartTotal } from "../../src/cart.js";
import { formatPrice } from "../../src/money.js";

test("formatPrice lives in money.ts", () => {
  assert.equal(formatPrice(1234), "12.34 EUR");
});
test("cartTotal uses it", () => {
  assert.equal(cartTotal([{ name: "tea", cents: 250, quantity: 2 }, { name: "cake", cents: 399, quantity: 1 }]), "8.99 EUR");
});
test("cart.ts no longer defines formatPrice", () => {
  assert.equal(/function formatPrice/.test(readFileSync(new URL("../../src/cart.ts", import.meta.url), "utf8")), false);
});
