import { test } from "node:test";
import assert from "node:assert/strict";
import { daysInMonth, isLeapYear } from "../../src/calendar.js";

test("century years are leap years only when divisible by 400", () => {
  assert.equal(isLeapYear(1900), false);
  assert.equal(isLeapYear(2100), false);
  assert.equal(isLeapYear(2000), true);
  assert.equal(isLeapYear(2024), true);
  assert.equal(isLeapYear(2023), false);
});
test("February follows the rule", () => {
  assert.equal(daysInMonth(1900, 2), 28);
  assert.equal(daysInMonth(2000, 2), 29);
});
