import { test } from "node:test";
import assert from "node:assert/strict";
import { chunk } from "../../src/arrays.js";

test("chunk splits into groups of size, the last one shorter", () => {
  assert.deepEqual(chunk([1, 2, 3, 4, 5], 2), [[1, 2], [3, 4], [5]]);
  assert.deepEqual(chunk(["a", "b"], 5), [["a", "b"]]);
  assert.deepEqual(chunk([], 3), []);
});
test("chunk refuses sizes that are not positive whole numbers", () => {
  assert.throws(() => chunk([1], 0), RangeError);
  assert.throws(() => chunk([1], 1.5), RangeError);
});
