import type { RepoMap, RepoMapEntry } from "./repo-map.js";

/** A map entry with why it ranks where it does. */
export interface RankedEntry {
  entry: RepoMapEntry;
  score: number;
  /** "imported by src/a.ts", "imports src/a.ts", "2 steps from the task's files", "mentions contact, email", or "". */
  reason: string;
  /** Import steps from the task's files (1 = direct), undefined when unconnected. */
  distance?: number;
}

/** Words too common in objectives to say anything about a file. */
const STOP_WORDS = new Set(
  "a an and are as at be by for from has have in into is it its of on or that the this to with without add adds added create update use uses using make new file files function functions code test tests should must when then all any each not".split(
    " ",
  ),
);

/** Lower-case terms of identifiers and prose: camelCase, snake_case, kebab-case and paths split; short words and plurals folded. */
export function termsOf(text: string): Set<string> {
  const words = text
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const terms = new Set<string>();
  for (const word of words) {
    if (word.length < 3 || STOP_WORDS.has(word)) continue;
    terms.add(word.length > 4 && word.endsWith("s") && !word.endsWith("ss") ? word.slice(0, -1) : word);
  }
  return terms;
}

/**
 * Orders the map by relevance to a task: files the task's files import or are imported by first,
 * then files two import steps away, then by how many of the objective's terms the file's path and
 * exported names share. The task's own files are left out (their full text is in the prompt).
 * Ties keep path order, so the same inputs always give the same map.
 */
export function rankRepoMap(map: RepoMap, taskFiles: readonly string[], objective: string): RankedEntry[] {
  const distance = importDistances(map, taskFiles, 2);
  const wanted = termsOf(objective);
  const ranked: RankedEntry[] = [];
  for (const entry of map.entries.values()) {
    if (taskFiles.includes(entry.path)) continue;
    const names = entry.symbols
      .map((s) => /(?:function|class|interface|type|enum|const|let|var|namespace)\s+([\w$]+)/.exec(s)?.[1] ?? "")
      .join(" ");
    const shared = [...termsOf(`${entry.path} ${names}`)].filter((term) => wanted.has(term));
    const steps = distance.get(entry.path);
    const score = (steps === 1 ? 1000 : steps === 2 ? 500 : 0) + shared.length * 10;
    ranked.push({ entry, score, distance: steps, reason: reasonFor(entry.path, steps, shared, map, taskFiles) });
  }
  return ranked.sort((a, b) => b.score - a.score || (a.entry.path < b.entry.path ? -1 : 1));
}

function reasonFor(
  file: string,
  steps: number | undefined,
  shared: readonly string[],
  map: RepoMap,
  taskFiles: readonly string[],
): string {
  if (steps === 1) {
    const importer = taskFiles.find((t) => map.entries.get(t)?.imports.includes(file));
    if (importer) return `imported by ${importer}`;
    const imported = taskFiles.find((t) => map.entries.get(file)?.imports.includes(t));
    return imported ? `imports ${imported}` : "next to the task's files";
  }
  if (steps === 2) return "2 import steps from the task's files";
  return shared.length > 0 ? `mentions ${shared.join(", ")}` : "";
}

/** Import steps (either direction) from the task's files, up to `limit`. */
function importDistances(map: RepoMap, start: readonly string[], limit: number): Map<string, number> {
  const distance = new Map<string, number>();
  let frontier = start.filter((f) => map.entries.has(f));
  for (const f of frontier) distance.set(f, 0);
  for (let step = 1; step <= limit && frontier.length > 0; step += 1) {
    const next: string[] = [];
    for (const file of frontier) {
      for (const neighbour of [...(map.entries.get(file)?.imports ?? []), ...(map.importedBy.get(file) ?? [])]) {
        if (distance.has(neighbour)) continue;
        distance.set(neighbour, step);
        next.push(neighbour);
      }
    }
    frontier = next;
  }
  return distance;
}

/** The text of one map entry: its path, then one indented line per export. */
export function renderMapEntry(entry: RepoMapEntry): string {
  if (entry.symbols.length === 0) return entry.path;
  return [entry.path, ...entry.symbols.map((symbol) => `  ${symbol}`)].join("\n");
}
