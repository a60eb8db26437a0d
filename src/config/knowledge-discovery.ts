import { readdirSync, realpathSync, statSync } from "node:fs";
import path from "node:path";

/** Where knowledge bases sit when no config names them: the seed's folder, then Builder's own. */
export const KNOWLEDGE_FOLDERS = ["agents/ollama-knowledge", ".builder/knowledge"] as const;

const KNOWLEDGE_EXTENSIONS = new Set([".txt", ".md"]);

/**
 * The knowledge files found in the workspace's conventional folders (`agents/ollama-knowledge/`,
 * `.builder/knowledge/`): `.txt` and `.md` files directly inside, sorted by name so the prompt is
 * stable. Used when the config names no `knowledge`; only plain files inside the workspace count.
 */
export function discoverKnowledge(workspace: string): string[] {
  const found: string[] = [];
  for (const folder of KNOWLEDGE_FOLDERS) {
    const dir = path.join(workspace, folder);
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      continue;
    }
    for (const name of names) {
      if (!KNOWLEDGE_EXTENSIONS.has(path.extname(name).toLowerCase())) continue;
      const file = path.join(dir, name);
      try {
        // A regular file whose real path stays inside the workspace: a link out is never read.
        if (statSync(file, { throwIfNoEntry: false })?.isFile() && !isLinkOut(file, workspace)) found.push(file);
      } catch {
        // unreadable entries are skipped: discovery never fails a run
      }
    }
  }
  return found;
}

function isLinkOut(file: string, workspace: string): boolean {
  try {
    const real = path.relative(realpath(workspace), realpath(file));
    return real.startsWith("..") || path.isAbsolute(real);
  } catch {
    return true;
  }
}

function realpath(p: string): string {
  return realpathSync.native(p);
}
