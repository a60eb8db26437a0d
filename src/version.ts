import { PACKAGE_MANIFEST } from "./package-root.js";

/** The package version, from the package's package.json. */
export const VERSION: string = PACKAGE_MANIFEST.version;
