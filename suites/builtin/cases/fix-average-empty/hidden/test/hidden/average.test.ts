import { test } from "node:test";
import assert from "node:assert/strict";
import { average } from "../../src/stats.js";

test("average of numbers", () => {
  assert.equal(average([1, 2, 3, 4]), 2.5);
  assert.equal(average([7]), 7);
});
test("average of an empty list throws a RangeError", () => {
  assert.throws(() => average([]), RangeError);
});
