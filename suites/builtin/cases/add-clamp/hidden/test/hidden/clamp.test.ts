import { test } from "node:test";
import assert from "node:assert/strict";
import { clamp, roundTo } from "../../src/math.js";

test("clamp keeps values inside the range", () => {
  assert.equal(clamp(5, 0, 10), 5);
  assert.equal(clamp(-3, 0, 10), 0);
  assert.equal(clamp(42, 0, 10), 10);
  assert.equal(clamp(7, 7, 7), 7);
});
test("clamp refuses an empty range", () => {
  assert.throws(() => clamp(1, 10, 0), RangeError);
});
test("roundTo still works", () => {
  assert.equal(roundTo(1.2345, 2), 1.23);
});
