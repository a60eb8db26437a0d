import { test } from "node:test";
import assert from "node:assert/strict";
import { parseQuery } from "../../src/query.js";

test("parseQuery decodes values and keys", () => {
  assert.deepEqual(parseQuery("?a=hello%20world&b=1+2"), { a: "hello world", b: "1 2" });
});
test("parseQuery gives flags an empty value", () => {
  assert.deepEqual(parseQuery("debug&x=%3D"), { debug: "", x: "=" });
});
