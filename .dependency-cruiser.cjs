/**
 * The layers of src/, bottom to top. A folder may import its own layer and the layers below it, never
 * one above (so the graph stays one-way), and no import cycle is allowed anywhere.
 *
 *   errors, format                        (facts and pure helpers)
 *   telemetry, system                     (logging, the machine)
 *   config                                (settings)
 *   models, context-policy, remote, verify... see LAYERS below
 *
 * `npm run deps:check` runs it; `npx depcruise src --output-type dot` draws the graph.
 */
const LAYERS = [
  ["errors", "format"],
  ["telemetry", "system"],
  ["config"],
  ["models", "modelfile"],
  ["backends", "model-servers"],
  ["workspace", "verify", "learning", "stats"],
  ["context"],
  ["agent", "task"],
  ["doctor", "server", "bench", "demo"],
  ["cli"],
];

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
              name: `layer-${names.join("-")}`,
              severity: "error",
              comment: `${names.join(", ")} must not import a layer above it (${above(index).join(", ")}).`,
              from: { path: `^src/(${names.join("|")})/`, pathNot: "\\.test\\.ts$" },
              to: { path: `^src/(${above(index).join("|")})/` },
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
    enhancedResolveOptions: { exportsFields: ["exports"], conditionNames: ["import", "require", "node", "default"], extensions: [".ts", ".js"] },
  },
};
