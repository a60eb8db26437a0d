import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, readdir, rename, stat, unlink, utimes } from "node:fs/promises";
import path from "node:path";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { getLogger } from "../../telemetry/logger.js";
import { writeFileAtomic } from "../../workspace/atomic-write.js";
import { SequenceFault } from "./engine-faults.js";
import { checkStateFile } from "./state-file-check.js";

/** Default cap on the prefix cache folder: state files of an 8K prefix on a 7B-32B model are hundreds of MB. */
export const DEFAULT_PREFIX_CACHE_MB = 4096;

/** Prefixes shorter than this are evaluated, not cached: a state file would cost more than it saves. */
export const MIN_CACHED_PREFIX_TOKENS = 64;

// 2: the identity names the sequence layout, flash attention and the KV cache types.
const FORMAT_VERSION = 2;

/**
 * Everything a saved state depends on besides the tokens. llama.cpp cannot check that a state file
 * belongs to the model it is loaded into (a wrong one may crash the process), so the key is strict.
 */
export interface EngineIdentity {
  modelPath: string;
  modelSize: number;
  modelMtimeMs: number;
  contextSize: number;
  /** Sequences of the context: llama.cpp keeps one KV stream per sequence and a state file holds them all. */
  sequences: number;
  flashAttention: string;
  /** GGML types of the KV cache's keys and values. */
  kvCacheTypes: string;
  batchSize: number;
  threads: number;
  gpu: string;
  /** gpu_index and CUDA_VISIBLE_DEVICES ({@link deviceSelection}). */
  devices: string;
  gpuLayers: number;
  llamaCpp: string;
}

/** What Builder writes beside each state file and checks before llama.cpp ever reads it. */
interface StateMeta {
  version: number;
  identity: EngineIdentity;
  prefix_sha256: string;
  prefix_tokens: number;
  state_bytes: number;
  state_sha256: string;
}

/** Options for {@link PrefixCache}. */
export interface PrefixCacheOptions {
  dir: string;
  /** Total size cap; the least recently used entries go first. */
  maxBytes: number;
}

/**
 * Evaluated prompt prefixes (the stable system message: knowledge base and pack) saved on disk so that
 * a later process restores them instead of evaluating them again. Entry = `<key>.state` (llama.cpp's
 * sequence state) + `<key>.json` (identity, prefix hash, state checksum); the key hashes both.
 */
export class PrefixCache {
  /** Set when saving failed: the folder cannot be used, and saying so once is enough. */
  private off = false;

  constructor(
    private readonly options: PrefixCacheOptions,
    private readonly identity: EngineIdentity,
  ) {}

  /**
   * Loads the saved state of `prefix` into `sequence` when a matching, intact entry exists. A corrupt
   * or mismatched entry is removed (it will be replaced) and never handed to llama.cpp. If llama.cpp
   * still fails to load one, the entry is removed and a {@link SequenceFault} thrown: the sequence may
   * hold cells node-llama-cpp no longer knows of and must be reset.
   */
  async restore(sequence: LlamaContextSequence, prefix: readonly Token[]): Promise<boolean> {
    const { statePath, metaPath } = this.paths(prefix);
    let meta: StateMeta;
    try {
      meta = JSON.parse(await readFile(metaPath, "utf8")) as StateMeta;
    } catch {
      return false;
    }
    const problem = await this.check(meta, prefix, statePath);
    if (problem) {
      getLogger().warn({ state: statePath, problem }, "prefix cache entry ignored and replaced");
      await removeQuietly(statePath, metaPath);
      return false;
    }
    try {
      await sequence.loadStateFromFile(statePath, { acceptRisk: true });
    } catch (error) {
      await removeQuietly(statePath, metaPath);
      throw new SequenceFault(`restoring the prefix state ${statePath} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    if (sequence.compareContextTokens([...prefix]).firstDifferentIndex < prefix.length) {
      await removeQuietly(statePath, metaPath);
      throw new SequenceFault(`the prefix state ${statePath} held other tokens than its key says`);
    }
    const now = new Date();
    await utimes(metaPath, now, now).catch(() => undefined);
    return true;
  }

  /**
   * Saves `sequence`, which holds exactly `prefix`, atomically; then evicts down to the size cap. A
   * folder that cannot take it (a file in its place, read-only, full) turns the cache off for this
   * engine, said once: runs go on uncached.
   */
  async save(sequence: LlamaContextSequence, prefix: readonly Token[]): Promise<void> {
    if (this.off) return;
    const { statePath, metaPath } = this.paths(prefix);
    const temp = `${statePath}.${randomBytes(4).toString("hex")}.tmp`;
    try {
      await mkdir(this.options.dir, { recursive: true, mode: 0o700 });
      const { fileSize } = await sequence.saveStateToFile(temp);
      // A layout the check cannot follow (another kind of model memory) would refuse every restore.
      const layout = await checkStateFile(temp, { tokens: prefix, streams: this.identity.sequences });
      if (layout) return await this.turnOff(`its state files have a layout Builder cannot check (${layout})`, temp);
      const meta: StateMeta = {
        version: FORMAT_VERSION,
        identity: this.identity,
        prefix_sha256: hashTokens(prefix),
        prefix_tokens: prefix.length,
        state_bytes: fileSize,
        state_sha256: await hashFile(temp),
      };
      // State first, then its meta: a reader finds no meta (a miss) or a complete pair, never half of one.
      await rename(temp, statePath);
      await writeFileAtomic(metaPath, JSON.stringify(meta));
      const total = await this.evict(statePath);
      getLogger().info(
        {
          state: statePath,
          prefix_tokens: prefix.length,
          state_bytes: fileSize,
          cache_bytes: total,
          cache_max_bytes: this.options.maxBytes,
        },
        "prefix state saved",
      );
    } catch (error) {
      await this.turnOff(`the folder cannot be used (${(error as Error).message})`, temp, statePath);
    }
  }

  /** Stops saving for the rest of this engine's life, saying why once. */
  private async turnOff(reason: string, ...leftovers: string[]): Promise<void> {
    this.off = true;
    await removeQuietly(...leftovers);
    getLogger().warn(
      { prefix_cache: this.options.dir, reason },
      `prefix cache off: ${reason}; runs go on without it (each evaluates the whole prompt)`,
    );
  }

  private paths(prefix: readonly Token[]): { statePath: string; metaPath: string } {
    const key = prefixCacheKey(this.identity, prefix);
    return {
      statePath: path.join(this.options.dir, `${key}.state`),
      metaPath: path.join(this.options.dir, `${key}.json`),
    };
  }

  private async check(meta: StateMeta, prefix: readonly Token[], statePath: string): Promise<string | undefined> {
    if (meta.version !== FORMAT_VERSION) return "format version";
    if (JSON.stringify(meta.identity) !== JSON.stringify(this.identity)) return "different model or engine settings";
    if (meta.prefix_sha256 !== hashTokens(prefix) || meta.prefix_tokens !== prefix.length) return "different prefix";
    const size = await stat(statePath).then(
      (s) => s.size,
      () => -1,
    );
    if (size !== meta.state_bytes) return `state file is ${size} bytes, ${meta.state_bytes} expected`;
    // The key file could have been rewritten to match a damaged state: the state itself must hold up.
    const layout = await checkStateFile(statePath, { tokens: prefix, streams: this.identity.sequences });
    if (layout) return `state file layout: ${layout}`;
    if ((await hashFile(statePath)) !== meta.state_sha256) return "state file checksum mismatch";
    return undefined;
  }

  /** Removes the least recently used entries (by meta mtime) until the folder fits the cap; returns its size. */
  private async evict(keep: string): Promise<number> {
    const entries = await cacheEntries(this.options.dir);
    let total = entries.reduce((sum, e) => sum + e.bytes, 0);
    for (const entry of entries.sort((a, b) => a.usedMs - b.usedMs)) {
      if (total <= this.options.maxBytes) break;
      if (entry.statePath === keep) continue;
      await removeQuietly(entry.statePath, entry.metaPath);
      total -= entry.bytes;
    }
    return total;
  }
}

/** The file name (without extension) of the entry for `prefix` evaluated by an engine of `identity`. */
export function prefixCacheKey(identity: EngineIdentity, prefix: readonly Token[]): string {
  return createHash("sha256").update(JSON.stringify(identity)).update(hashTokens(prefix)).digest("hex").slice(0, 32);
}

/** The prefix cache folder's entries with their sizes (for eviction and `builder ps`). */
export async function cacheEntries(
  dir: string,
): Promise<Array<{ statePath: string; metaPath: string; bytes: number; usedMs: number }>> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const entries = [];
  for (const name of names.filter((n) => n.endsWith(".state"))) {
    const statePath = path.join(dir, name);
    const metaPath = statePath.replace(/\.state$/, ".json");
    const [state, meta] = await Promise.all([
      stat(statePath).catch(() => undefined),
      stat(metaPath).catch(() => undefined),
    ]);
    if (state) entries.push({ statePath, metaPath, bytes: state.size, usedMs: meta?.mtimeMs ?? 0 });
  }
  return entries;
}

function hashTokens(tokens: readonly Token[]): string {
  return createHash("sha256").update(Uint32Array.from(tokens)).digest("hex");
}

function hashFile(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(file)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

async function removeQuietly(...files: string[]): Promise<void> {
  await Promise.all(files.map((file) => unlink(file).catch(() => undefined)));
}
