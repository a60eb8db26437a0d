// The `builder` command as one bundle (dist/cli/main.js and its lazily loaded chunks), built after tsc
// by `npm run build`. Loading 230 separate ES modules took about 0.45 s of CPU per command, most of it
// the module loader itself; the bundle starts in about half that, which every `builder` call pays
// (an agent calling it as a tool, the MCP server, `builder ps`). tsc still emits the library (dist/).
import { rmSync } from "node:fs";
import { defineConfig } from "rolldown";

/**
 * Packages bundled in: zod alone is 95 modules. The others stay outside, loaded from node_modules as
 * published: node-llama-cpp and typescript find their own files beside them, pino its worker, and the
 * rest are a module or two each.
 */
const BUNDLED_PACKAGES = ["zod"];

const CHUNKS = "dist/cli/chunks";
// Chunk names carry a content hash: chunks of an earlier build would pile up beside the new ones.
rmSync(CHUNKS, { recursive: true, force: true });

export default defineConfig({
  input: "src/cli/main.ts",
  platform: "node",
  external: (id) => /^[@a-z]/i.test(id) && !BUNDLED_PACKAGES.some((name) => id === name || id.startsWith(`${name}/`)),
  // A command's lazy import of a module the bundle already loads at start-up costs nothing: not worth a warning.
  checks: { ineffectiveDynamicImport: false },
  output: {
    dir: "dist/cli",
    format: "esm",
    entryFileNames: "main.js",
    chunkFileNames: "chunks/[name]-[hash].js",
    sourcemap: true,
  },
});
