import { test } from "node:test";
import assert from "node:assert/strict";
import { capitalize, slugify } from "../../src/strings.js";

test("slugify lower-cases and joins words with single hyphens", () => {
  assert.equal(slugify("Hello, World!"), "hello-world");
  assert.equal(slugify("  Many   spaces  "), "many-spaces");
  assert.equal(slugify("Version 2.0 -- final"), "version-2-0-final");
});
test("slugify of nothing is empty", () => {
  assert.equal(slugify("!!!"), "");
});
test("capitalize still works", () => {
  assert.equal(capitalize("abc"), "Abc");
});
