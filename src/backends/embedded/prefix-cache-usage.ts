import { readFile } from "node:fs/promises";
import { cacheEntries } from "./prefix-cache.js";

/** What the on-disk prefix cache holds (`builder ps`): its total size, and per model file. */
export interface PrefixCacheUsage {
  dir: string;
  /** Bytes of every state file in the folder. */
  bytes: number;
  /** State files in the folder. */
  entries: number;
  /** Bytes of state files by the model file they were saved for (an entry whose key file is unreadable is left out). */
  byModel: Record<string, number>;
}

/** Sizes of the prefix cache at `dir` (an absent folder holds nothing). */
export async function prefixCacheUsage(dir: string): Promise<PrefixCacheUsage> {
  const entries = await cacheEntries(dir);
  const byModel: Record<string, number> = {};
  for (const entry of entries) {
    const model = await savedFor(entry.metaPath);
    if (typeof model === "string") byModel[model] = (byModel[model] ?? 0) + entry.bytes;
  }
  return { dir, bytes: entries.reduce((sum, e) => sum + e.bytes, 0), entries: entries.length, byModel };
}

/** The model file an entry's key names, or undefined when the key file is missing or unreadable. */
async function savedFor(metaPath: string): Promise<unknown> {
  try {
    return (JSON.parse(await readFile(metaPath, "utf8")) as { identity?: { modelPath?: unknown } }).identity?.modelPath;
  } catch {
    return undefined;
  }
}
