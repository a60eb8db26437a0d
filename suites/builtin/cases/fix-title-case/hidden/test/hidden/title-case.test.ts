import { test } from "node:test";
import assert from "node:assert/strict";
import { titleCase } from "../../src/title.js";

test("titleCase capitalizes every word", () => {
  assert.equal(titleCase("hELLO wORLD"), "Hello World");
  assert.equal(titleCase("the  quick fox"), "The  Quick Fox");
});
test("titleCase of one word", () => {
  assert.equal(titleCase("builder"), "Builder");
  assert.equal(titleCase(""), "");
});
