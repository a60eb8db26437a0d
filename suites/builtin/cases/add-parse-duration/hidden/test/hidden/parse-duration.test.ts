import { test } from "node:test";
import assert from "node:assert/strict";
import { parseDuration } from "../../src/duration.js";

test("parseDuration adds up the parts", () => {
  assert.equal(parseDuration("90s"), 90_000);
  assert.equal(parseDuration("1h30m"), 5_400_000);
  assert.equal(parseDuration("2d 4h"), 187_200_000);
  assert.equal(parseDuration("250ms"), 250);
});
test("parseDuration refuses what it cannot read", () => {
  assert.throws(() => parseDuration("soon"), /soon/);
  assert.throws(() => parseDuration(""));
  assert.throws(() => parseDuration("5 parsecs"));
});
