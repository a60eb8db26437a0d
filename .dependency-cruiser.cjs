/**
 * The layers of src/, bottom to top. A module may import its own layer and the layers below it, never
 * one above, so the folder graph stays one-way; and no import cycle is allowed anywhere.
 * `npm run deps:check` runs it; `npx depcruise src --config .dependency-cruiser.cjs --output-type dot` draws the graph.
 */
const RECORDS = "src/telemetry/(metrics|run-metrics|report)\\.ts$";
// What each backend kind can do, known from the configuration alone: the layers under the backends read it too.
const BACKEND_DESCRIPTORS = "src/backends/descriptors\\.ts$";
const LAYERS = [
  // Facts and pure helpers: error classes, number and table formatting, the window-size policy (num_ctx).
  ["errors", "format", "window-size"],
  // The one HTTP layer under every model-server client, and the schemas of their replies.
  ["http-client"],
  // Logging and secret masking (telemetry, less the run records below).
  [`src/telemetry/(?!(metrics|run-metrics|report)\\.ts$)`],
  ["config", BACKEND_DESCRIPTORS],
  // The sandbox that model-written code (tests, linters, hidden checks) runs in.
  ["system", "task", "sandbox"],
  ["models", "server-admin", "workspace"],
  [`src/backends/(?!descriptors\\.ts$)`],
  // Run records (metrics.jsonl and its lines, the run report) sit above what they record.
  [RECORDS, "verify", "stats"],
  ["context"],
  ["learning"],
  ["agent", "modelfile"],
  ["doctor", "server", "demo", "init"],
  ["bench", "eval"],
  // Builder as an MCP server for other agents: the tools over the agent, the workspace and eval.
  ["mcp"],
  ["cli"],
];

/** A layer entry as a path pattern: a folder name means everything under src/<name>/. */
const pattern = (entry) => (entry.startsWith("src/") ? `^${entry}` : `^src/${entry}/`);
const layerPath = (names) => names.map(pattern).join("|");
const above = (index) => LAYERS.slice(index + 1).flat();

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import cycle makes the two modules one: neither can be changed or tested alone.",
      from: { path: "^src/" },
      to: { circular: true },
    },
    ...LAYERS.flatMap((names, index) =>
      above(index).length === 0
        ? []
        : [
            {
              name: `layer-${index}`,
              severity: "error",
              comment: `${names.join(", ")} must not import a layer above it (${above(index).join(", ")}).`,
              from: { path: layerPath(names), pathNot: "\\.test\\.ts$" },
              to: { path: layerPath(above(index)) },
            },
          ],
    ),
    {
      name: "no-test-support-in-src",
      severity: "error",
      comment: "Production code must not import test helpers.",
      from: { path: "^src/", pathNot: "(\\.test\\.ts$|^src/test-support/)" },
      to: { path: "^src/test-support/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "(^dist/|__fixtures__)" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.test.json" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default"],
      extensions: [".ts", ".js"],
    },
  },
};
