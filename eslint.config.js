// Type-aware lint rules the project's reviewers enforce (see README "Development"). Formatting is
// Prettier's job (`npm run format:check`); layering is dependency-cruiser's (`npm run deps:check`).
import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // suites/ holds the eval cases: workspaces of their own, not Builder source.
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "coverage/**",
      ".bench/**",
      "examples/**",
      "suites/**",
      "**/__fixtures__/**",
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["**/*.cjs"],
    languageOptions: { sourceType: "commonjs", globals: { module: "writable", require: "readonly" } },
  },
  {
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { project: ["./tsconfig.test.json"], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": ["error", { checksVoidReturn: false }],
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/explicit-module-boundary-types": "error",
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrors: "none" },
      ],
      "no-console": "error",
      // Literal runs of spaces in a pattern mirror the printed layout they match; `{2}` hides it.
      "no-regex-spaces": "off",
    },
  },
  {
    // Source (not tests): a ceiling against functions nobody can hold in their head, not a target. A
    // function that reads top to bottom as one pipeline beats the same steps cut into fragments to pass
    // a tighter limit (60 lines bought 600 functions of ten lines or fewer). Tests read as a story and may be longer.
    files: ["src/**/*.ts"],
    ignores: ["src/**/*.test.ts", "src/test-support/**"],
    rules: {
      "max-lines-per-function": ["error", { max: 150, skipBlankLines: true, skipComments: true, IIFEs: true }],
    },
  },
  {
    files: ["src/**/*.test.ts", "src/test-support/**", "vitest.config.ts"],
    rules: {
      "no-console": "off",
      "@typescript-eslint/explicit-module-boundary-types": "off",
    },
  },
);
