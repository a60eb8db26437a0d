import { describe, expect, it } from "vitest";
import { detectTestConvention, isTestFile, testPathFor } from "./test-placement.js";

describe("test file placement", () => {
  it("puts tests next to the code as *.test.* by default and when the workspace does", () => {
    const convention = detectTestConvention(
      ["src/a.ts", "src/a.test.ts", "src/b/c.ts", "src/b/c.test.ts"],
      "src/new.ts",
    );
    expect(convention).toEqual({ layout: "colocated", suffix: "test" });
    expect(testPathFor("src/crm/contact-service.ts", convention)).toBe("src/crm/contact-service.test.ts");
    expect(testPathFor("index.js", detectTestConvention([]))).toBe("index.test.js");
    expect(testPathFor("src/view.tsx", convention)).toBe("src/view.test.tsx");
  });

  it("follows __tests__ folders and .spec names when the workspace uses them", () => {
    const files = ["src/a.ts", "src/__tests__/a.spec.ts", "lib/__tests__/b.spec.ts", "lib/b.ts"];
    const convention = detectTestConvention(files, "src/crm/x.ts");
    expect(convention).toEqual({ layout: "__tests__", suffix: "spec" });
    expect(testPathFor("src/crm/x.ts", convention)).toBe("src/crm/__tests__/x.spec.ts");
  });

  it("prefers the convention of the source's own folder over the workspace majority", () => {
    const files = ["a/__tests__/1.test.ts", "a/__tests__/2.test.ts", "a/__tests__/3.test.ts", "b/x.test.ts", "b/x.ts"];
    expect(detectTestConvention(files, "b/y.ts").layout).toBe("colocated");
    expect(detectTestConvention(files, "c/y.ts").layout).toBe("__tests__");
  });

  it("recognises test files", () => {
    expect(isTestFile("src/a.test.ts")).toBe(true);
    expect(isTestFile("src/__tests__/helpers.ts")).toBe(true);
    expect(isTestFile("src/attest.ts")).toBe(false);
  });
});
