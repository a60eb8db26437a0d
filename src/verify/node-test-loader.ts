import { mkdir, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

/**
 * Writes a tiny Node module loader that runs TypeScript test files under `node --test` on Node 20
 * (which cannot strip types itself): `.ts` files are transpiled with Builder's own TypeScript, and a
 * relative `./x.js` import falls back to `./x.ts`, as NodeNext projects write them. Returns the
 * path to pass to `node --import`.
 */
export async function writeTsLoader(dir: string): Promise<string> {
  const typescriptUrl = pathToFileURL(createRequire(import.meta.url).resolve("typescript")).href;
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, "ts-hooks.mjs"), hooksSource(typescriptUrl));
  const register = path.join(dir, "register-ts.mjs");
  await writeFile(register, 'import { register } from "node:module";\nregister("./ts-hooks.mjs", import.meta.url);\n');
  return register;
}

function hooksSource(typescriptUrl: string): string {
  return `import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import ts from ${JSON.stringify(typescriptUrl)};

const TS_FILE = /\\.(?:ts|mts|cts|tsx)$/;

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    if (/^\\.{1,2}\\//.test(specifier) && /\\.[cm]?js$/.test(specifier)) {
      return next(specifier.replace(/\\.([cm]?)js$/, ".$1ts"), context);
    }
    throw error;
  }
}

export async function load(url, context, next) {
  if (!url.startsWith("file:") || !TS_FILE.test(new URL(url).pathname)) return next(url, context);
  const fileName = fileURLToPath(url);
  const source = await readFile(fileName, "utf8");
  const output = ts.transpileModule(source, {
    fileName,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, inlineSourceMap: true, inlineSources: true },
  });
  return { format: "module", source: output.outputText, shortCircuit: true };
}
`;
}
