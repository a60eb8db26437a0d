import { existsSync } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { readGgufFacts, type ModelFacts } from "./model-shape.js";

/** A GGUF file found on disk, with its header facts (or why they could not be read). */
export interface LocalModel {
  path: string;
  sizeBytes: number;
  facts?: ModelFacts;
  error?: string;
}

/** How deep below the cache folder to look (downloaders keep files in a folder or one below). */
const MAX_DEPTH = 2;

/**
 * GGUF files in the model cache (and any extra paths, such as the configured model), each with its
 * header read. Split models are listed once, by their first part.
 */
export async function listLocalModels(cacheDir: string, extraPaths: readonly string[] = []): Promise<LocalModel[]> {
  const files = new Set<string>();
  if (existsSync(cacheDir)) for (const file of await findGgufFiles(cacheDir, MAX_DEPTH)) files.add(file);
  for (const file of extraPaths) if (existsSync(file)) files.add(path.resolve(file));
  const models: LocalModel[] = [];
  for (const file of [...files].sort()) {
    const size = (await stat(file)).size;
    try {
      const facts = await readGgufFacts(file);
      models.push({ path: file, sizeBytes: facts.weightsBytes, facts });
    } catch (error) {
      models.push({ path: file, sizeBytes: size, error: (error as Error).message });
    }
  }
  return models;
}

async function findGgufFiles(dir: string, depth: number): Promise<string[]> {
  const found: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory() && depth > 0 && !entry.name.startsWith("."))
      found.push(...(await findGgufFiles(full, depth - 1)));
    else if (entry.isFile() && /\.gguf$/i.test(entry.name) && !/-(?!00001)\d{5}-of-\d{5}\.gguf$/i.test(entry.name))
      found.push(full);
  }
  return found;
}
