import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The package's name in package.json: what marks its root. */
const PACKAGE_NAME = "local-builder";

/** Builder's package.json, as far as Builder reads it. */
export interface PackageManifest {
  name: string;
  version: string;
}

/**
 * The nearest folder at or above `from` whose package.json names this package, and that manifest.
 * Files run from src/ (tests), from dist/ (the library) and from the bundled CLI's chunks in
 * dist/cli/chunks, each at its own depth, so a path counted in `../` from one of them is wrong from another.
 */
export function findPackageRoot(from: string): { root: string; manifest: PackageManifest } {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = readManifest(path.join(dir, "package.json"));
    if (manifest?.name === PACKAGE_NAME) return { root: dir, manifest };
    if (path.dirname(dir) === dir)
      throw new Error(
        `No package.json named ${PACKAGE_NAME} at or above ${from}: Builder's files are not where it runs from.`,
      );
  }
}

function readManifest(file: string): PackageManifest | undefined {
  try {
    return JSON.parse(readFileSync(file, "utf8")) as PackageManifest;
  } catch {
    // None here (or not JSON): look further up.
    return undefined;
  }
}

const found = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** Builder's package root: package.json, dist/, examples/ and suites/ are under it. */
export const PACKAGE_ROOT: string = found.root;

/** Builder's package.json, read once at start-up (the version comes from it). */
export const PACKAGE_MANIFEST: PackageManifest = found.manifest;

/** A path under the package root, written as in the repository (`"suites"`, `"dist/cli/main.js"`). */
export function packagePath(relative: string): string {
  return path.join(PACKAGE_ROOT, relative);
}
