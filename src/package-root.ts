import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The package's name in package.json: what marks its root. */
const PACKAGE_NAME = "local-builder";

/**
 * The nearest folder at or above `from` whose package.json names this package. Files run from src/
 * (tests), from dist/ (the library) and from the bundled CLI's chunks in dist/cli/chunks, each at its
 * own depth, so a path counted in `../` from one of them is wrong from another.
 */
export function findPackageRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, "package.json");
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, "utf8")) as { name?: string }).name === PACKAGE_NAME)
      return dir;
    if (path.dirname(dir) === dir) throw new Error(`${PACKAGE_NAME}'s package.json was not found above ${from}`);
  }
}

/** Builder's package root: package.json, dist/, examples/ and suites/ are under it. */
export const PACKAGE_ROOT: string = findPackageRoot(path.dirname(fileURLToPath(import.meta.url)));

/** A path under the package root, written as in the repository (`"suites"`, `"dist/cli/main.js"`). */
export function packagePath(relative: string): string {
  return path.join(PACKAGE_ROOT, relative);
}
