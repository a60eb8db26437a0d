import { createHash } from "node:crypto";

/**
 * Grammars kept per engine. A repair round reuses its task's grammar and a new task brings a new one;
 * the Builder host serves tasks for minutes, so the oldest are dropped rather than kept for its lifetime.
 */
export const DEFAULT_GRAMMAR_CACHE_ENTRIES = 16;

/**
 * Compiled grammars by their source (a GBNF text or a JSON schema), least recently used dropped beyond
 * `maxEntries`. Sources are stored as hashes: a grammar's text embeds the task's files. A creation that
 * fails is forgotten, so the next request tries again.
 */
export class GrammarCache<T> {
  private readonly entries = new Map<string, Promise<T>>();

  constructor(readonly maxEntries: number = DEFAULT_GRAMMAR_CACHE_ENTRIES) {}

  /** How many grammars are held. */
  get size(): number {
    return this.entries.size;
  }

  /** Whether the grammar for `source` is held (without counting as a use). */
  has(source: string): boolean {
    return this.entries.has(keyOf(source));
  }

  /** The grammar for `source`, created with `create` unless held; either way it becomes the most recently used. */
  getOrCreate(source: string, create: () => Promise<T>): Promise<T> {
    const key = keyOf(source);
    const held = this.entries.get(key);
    if (held) {
      this.entries.delete(key);
      this.entries.set(key, held);
      return held;
    }
    const created = create();
    this.entries.set(key, created);
    created.catch(() => {
      if (this.entries.get(key) === created) this.entries.delete(key);
    });
    for (const oldest of this.entries.keys()) {
      if (this.entries.size <= this.maxEntries) break;
      this.entries.delete(oldest);
    }
    return created;
  }
}

function keyOf(source: string): string {
  return createHash("sha256").update(source).digest("hex");
}
