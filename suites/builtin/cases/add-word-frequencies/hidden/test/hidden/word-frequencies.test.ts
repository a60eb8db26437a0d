import { test } from "node:test";
import assert from "node:assert/strict";
import { wordFrequencies } from "../../src/text.js";

test("wordFrequencies counts words case-insensitively in first-seen order", () => {
  const counts = wordFrequencies("The cat and the hat. THE end, isn't it?");
  assert.deepEqual([...counts.entries()], [["the", 3], ["cat", 1], ["and", 1], ["hat", 1], ["end", 1], ["isn't", 1], ["it", 1]]);
});
test("wordFrequencies of no words is empty", () => {
  assert.equal(wordFrequencies(" ... ").size, 0);
});
