import { test } from "node:test";
import assert from "node:assert/strict";
import * as users from "../../src/users.js";
import { greet } from "../../src/greet.js";

test("getUser finds users and getUsr is gone", () => {
  const module = users as Record<string, unknown>;
  assert.equal(typeof module.getUser, "function");
  assert.equal(module.getUsr, undefined);
  assert.equal((module.getUser as (id: number) => { name: string } | undefined)(2)?.name, "Linus");
});
test("greet still greets", () => {
  assert.equal(greet(1), "Hello, Ada!");
  assert.equal(greet(9), "Hello, stranger!");
});
