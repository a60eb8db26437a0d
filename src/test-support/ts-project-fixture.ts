import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, symlinkSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { tempDir, writeFiles } from "./fixtures.js";

/** Builder's own node_modules: fixtures link it so that typescript, vitest and @types/node resolve offline. */
export const OWN_NODE_MODULES = fileURLToPath(new URL("../../node_modules", import.meta.url));

/** A strict NodeNext tsconfig, like the projects Builder works on. */
export const FIXTURE_TSCONFIG = JSON.stringify(
  {
    compilerOptions: {
      target: "ES2022",
      module: "NodeNext",
      moduleResolution: "NodeNext",
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ["node"],
    },
    include: ["src"],
  },
  null,
  2,
);

/** Options for {@link typescriptProject}. */
export interface TsFixtureOptions {
  /** Test runner named in package.json. */
  runner?: "vitest" | "node-test" | "none";
  /** Extra files (relative path → content). */
  files?: Record<string, string>;
  /** Make it a git repository with one commit of everything. */
  git?: boolean;
}

/** A real temporary TypeScript project: package.json, tsconfig.json, node_modules linked, src/math.ts and its importer. */
export function typescriptProject(options: TsFixtureOptions = {}): string {
  const root = tempDir("builder-tsproj-");
  const runner = options.runner ?? "vitest";
  const pkg: Record<string, unknown> = { name: "fixture", private: true, type: "module" };
  if (runner === "vitest")
    Object.assign(pkg, { scripts: { test: "vitest run" }, devDependencies: { vitest: "*", typescript: "*" } });
  if (runner === "node-test")
    Object.assign(pkg, { scripts: { test: "node --test" }, devDependencies: { typescript: "*" } });
  writeFiles(root, {
    "package.json": JSON.stringify(pkg, null, 2),
    "tsconfig.json": FIXTURE_TSCONFIG,
    ".gitignore": "node_modules/\nnode_modules\n.builder/\n",
    "src/math.ts":
      "/** Adds two numbers. */\nexport function add(a: number, b: number): number {\n  return a + b;\n}\n",
    "src/report.ts":
      'import { add } from "./math.js";\n\nexport function total(values: number[]): number {\n  return values.reduce((sum, v) => add(sum, v), 0);\n}\n',
    ...options.files,
  });
  symlinkSync(OWN_NODE_MODULES, path.join(root, "node_modules"));
  if (options.git) {
    const git = (...args: string[]): void => {
      execFileSync("git", ["-C", root, "-c", "user.email=t@example.com", "-c", "user.name=t", ...args], {
        stdio: "ignore",
      });
    };
    git("init", "-q", "-b", "main");
    git("add", "-A");
    git("commit", "-q", "-m", "fixture");
  }
  return root;
}

/** Hashes every file under `root` (path → sha256), skipping node_modules, .git and Builder's .builder state. */
export function hashTree(root: string): Record<string, string> {
  const hashes: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (["node_modules", ".git", ".builder"].includes(entry.name)) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile())
        hashes[path.relative(root, full)] = createHash("sha256").update(readFileSync(full)).digest("hex");
    }
  };
  walk(root);
  return hashes;
}
