import { test } from "node:test";
import assert from "node:assert/strict";
import { range } from "../../src/range.js";

test("range excludes its end", () => {
  assert.deepEqual(range(2, 5), [2, 3, 4]);
  assert.deepEqual(range(0, 1), [0]);
});
test("range of an empty span is empty", () => {
  assert.deepEqual(range(3, 3), []);
  assert.deepEqual(range(5, 2), []);
});
