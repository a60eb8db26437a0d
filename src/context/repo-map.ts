import { readFile } from "node:fs/promises";
import { readFileInside } from "../workspace/safe-fs.js";
import path from "node:path";
import type ts from "typescript";
import { getLogger } from "../telemetry/logger.js";
import { writeBuilderFile } from "../workspace/builder-dir.js";
import type { WorkspaceFile } from "../workspace/list-files.js";
import { loadTypeScript, outlineModule, type ModuleOutline } from "./module-outline.js";

/** One module of the repository map. */
export interface RepoMapEntry {
  /** Workspace-relative, POSIX separators. */
  path: string;
  symbols: string[];
  /** Workspace files this module imports (relative specifiers resolved as TypeScript / Node would). */
  imports: string[];
}

/** The workspace's modules, their exports and their import graph. */
export interface RepoMap {
  entries: Map<string, RepoMapEntry>;
  /** The reverse of `imports`: who imports each file. */
  importedBy: Map<string, string[]>;
  stats: { files: number; parsed: number; cached: number };
}

/** Bump when {@link outlineModule}'s output changes, so old caches are not reused. */
const OUTLINE_VERSION = 1;
/** Files larger than this (bundles, generated code) are listed without symbols. */
const MAX_PARSE_BYTES = 512 * 1024;
const PARALLEL_READS = 32;

interface CachedOutline extends ModuleOutline {
  size: number;
  mtimeMs: number;
}

interface CacheFile {
  version: number;
  outlines: Record<string, CachedOutline>;
}

/** Outlines kept in memory per workspace, so that a long-lived process re-reads nothing. */
const memory = new Map<string, Map<string, CachedOutline>>();

/** Where the outline cache lives in a workspace. */
export function repoMapCacheFile(workspaceRoot: string): string {
  return path.join(workspaceRoot, ".builder", "cache", "repo-map.json");
}

/** Forgets the in-memory cache (benchmarks use it to measure a cold start). */
export function clearRepoMapMemory(): void {
  memory.clear();
}

/**
 * Builds the repository map for the given code files (from {@link listWorkspaceFiles} with stats).
 * Each file's outline is cached by size and modification time, in memory and in
 * `.builder/cache/repo-map.json`, so only changed files are parsed again.
 */
export async function buildRepoMap(workspaceRoot: string, files: readonly WorkspaceFile[]): Promise<RepoMap> {
  const cache = memory.get(workspaceRoot) ?? (await loadCache(workspaceRoot));
  memory.set(workspaceRoot, cache);
  const outlines = new Map<string, ModuleOutline>();
  const stale = files.filter((file) => {
    const hit = cache.get(file.path);
    if (hit && hit.size === file.size && hit.mtimeMs === file.mtimeMs) {
      outlines.set(file.path, hit);
      return false;
    }
    return true;
  });
  await outlineStaleFiles(workspaceRoot, stale, outlines, cache);
  const present = new Set(files.map((file) => file.path));
  const removed = forgetRemovedFiles(cache, present);
  if (stale.length > 0 || removed > 0) await saveCache(workspaceRoot, cache);
  return {
    ...linkImports(files, outlines, present),
    stats: { files: files.length, parsed: stale.length, cached: files.length - stale.length },
  };
}

/** Parses the files whose cached outline is stale (a few reads at a time) into `outlines` and the cache. */
async function outlineStaleFiles(
  workspaceRoot: string,
  stale: readonly WorkspaceFile[],
  outlines: Map<string, ModuleOutline>,
  cache: Map<string, CachedOutline>,
): Promise<void> {
  let tsApi: typeof ts | undefined;
  for (let i = 0; i < stale.length; i += PARALLEL_READS) {
    const batch = stale.slice(i, i + PARALLEL_READS);
    // Checked on the opened file: a folder swapped for a link cannot bring outside code into the map.
    const texts = await Promise.all(
      batch.map((file) =>
        readFileInside(workspaceRoot, file.path).then(
          (read) => read?.content.toString("utf8"),
          () => undefined,
        ),
      ),
    );
    for (const [index, file] of batch.entries()) {
      const text = texts[index];
      let outline: ModuleOutline = { symbols: [], specifiers: [] };
      if (text !== undefined && text.length <= MAX_PARSE_BYTES) {
        tsApi ??= await loadTypeScript();
        outline = outlineModule(tsApi, file.path, text);
      }
      outlines.set(file.path, outline);
      cache.set(file.path, { ...outline, size: file.size ?? -1, mtimeMs: file.mtimeMs ?? -1 });
    }
  }
}

/** Drops cached outlines of files no longer in the workspace; returns how many. */
function forgetRemovedFiles(cache: Map<string, CachedOutline>, present: ReadonlySet<string>): number {
  let removed = 0;
  for (const key of cache.keys()) {
    if (!present.has(key)) {
      cache.delete(key);
      removed += 1;
    }
  }
  return removed;
}

/** Each file's entry with the workspace files it imports, and the reverse index. */
function linkImports(
  files: readonly WorkspaceFile[],
  outlines: ReadonlyMap<string, ModuleOutline>,
  present: ReadonlySet<string>,
): Pick<RepoMap, "entries" | "importedBy"> {
  const entries = new Map<string, RepoMapEntry>();
  const importedBy = new Map<string, string[]>();
  for (const file of files) {
    const outline = outlines.get(file.path) ?? { symbols: [], specifiers: [] };
    const imports = [
      ...new Set(
        outline.specifiers
          .map((s) => resolveSpecifier(file.path, s, present))
          .filter((p): p is string => p !== undefined && p !== file.path),
      ),
    ];
    entries.set(file.path, { path: file.path, symbols: outline.symbols, imports });
    for (const imported of imports) {
      const list = importedBy.get(imported);
      if (list) list.push(file.path);
      else importedBy.set(imported, [file.path]);
    }
  }
  return { entries, importedBy };
}

const RESOLVE_EXTENSIONS = [".ts", ".tsx", ".mts", ".cts", ".d.ts", ".js", ".jsx", ".mjs", ".cjs"];
/** TypeScript's NodeNext convention: `./a.js` in source names `./a.ts`. */
const JS_TO_TS: Record<string, string[]> = {
  ".js": [".ts", ".tsx", ".js", ".jsx"],
  ".jsx": [".tsx", ".jsx"],
  ".mjs": [".mts", ".mjs"],
  ".cjs": [".cts", ".cjs"],
};

/** Resolves a relative specifier to a workspace file in `files`; undefined for packages and misses. */
export function resolveSpecifier(from: string, specifier: string, files: ReadonlySet<string>): string | undefined {
  if (!specifier.startsWith("./") && !specifier.startsWith("../") && specifier !== "." && specifier !== "..")
    return undefined;
  const base = path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
  if (base.startsWith("../")) return undefined;
  const extension = path.posix.extname(base);
  const candidates: string[] = [base];
  const swapped = JS_TO_TS[extension];
  if (swapped) candidates.push(...swapped.map((ext) => base.slice(0, -extension.length) + ext));
  candidates.push(
    ...RESOLVE_EXTENSIONS.map((ext) => base + ext),
    ...RESOLVE_EXTENSIONS.map((ext) => `${base}/index${ext}`),
  );
  return candidates.find((candidate) => files.has(candidate));
}

async function loadCache(workspaceRoot: string): Promise<Map<string, CachedOutline>> {
  try {
    const parsed = JSON.parse(await readFile(repoMapCacheFile(workspaceRoot), "utf8")) as CacheFile;
    if (parsed.version === OUTLINE_VERSION && parsed.outlines) return new Map(Object.entries(parsed.outlines));
  } catch {
    // no cache yet, or an unreadable one: start afresh
  }
  return new Map();
}

async function saveCache(workspaceRoot: string, cache: ReadonlyMap<string, CachedOutline>): Promise<void> {
  const content: CacheFile = { version: OUTLINE_VERSION, outlines: Object.fromEntries(cache) };
  try {
    await writeBuilderFile(workspaceRoot, repoMapCacheFile(workspaceRoot), JSON.stringify(content));
  } catch (error) {
    getLogger().debug({ err: error }, "could not save the repository map cache; the next run parses again");
  }
}
