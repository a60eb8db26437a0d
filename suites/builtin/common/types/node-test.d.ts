// Just enough of node:test and node:assert for tests to typecheck without @types/node.
declare module "node:test" {
  type Body = () => void | Promise<void>;
  export function test(name: string, fn: Body): void;
  export function it(name: string, fn: Body): void;
  export function describe(name: string, fn: () => void): void;
}
declare module "node:assert/strict" {
  interface Assert {
    (value: unknown, message?: string): void;
    ok(value: unknown, message?: string): void;
    equal(actual: unknown, expected: unknown, message?: string): void;
    notEqual(actual: unknown, expected: unknown, message?: string): void;
    deepEqual(actual: unknown, expected: unknown, message?: string): void;
    throws(fn: () => unknown, expected?: unknown, message?: string): void;
  }
  const assert: Assert;
  export default assert;
}
declare module "node:assert" {
  import assert from "node:assert/strict";
  export default assert;
}
