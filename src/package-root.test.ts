import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { findPackageRoot, PACKAGE_MANIFEST, PACKAGE_ROOT } from "./package-root.js";
import { tempDir } from "./test-support/fixtures.js";

describe("the package root", () => {
  it("is found from any depth below it, past a package.json of another name and one that is not JSON", () => {
    const root = tempDir("builder-pkg-");
    writeFileSync(path.join(root, "package.json"), JSON.stringify({ name: "local-builder", version: "9.9.9" }));
    const chunks = path.join(root, "dist", "cli", "chunks");
    mkdirSync(chunks, { recursive: true });
    writeFileSync(path.join(root, "dist", "package.json"), JSON.stringify({ name: "something-else" }));
    writeFileSync(path.join(root, "dist", "cli", "package.json"), "{ not json");
    expect(findPackageRoot(chunks)).toEqual({ root, manifest: { name: "local-builder", version: "9.9.9" } });
    expect(findPackageRoot(root).root).toBe(root);
  });

  it("says where it looked when there is none", () => {
    const lonely = tempDir("builder-no-pkg-");
    expect(() => findPackageRoot(lonely)).toThrow(`No package.json named local-builder at or above ${lonely}`);
  });

  it("is this repository when run from src/", () => {
    expect(PACKAGE_ROOT).toBe(path.resolve(import.meta.dirname, ".."));
    expect(PACKAGE_MANIFEST.name).toBe("local-builder");
  });
});
