import { LRUCache } from "lru-cache";
import { WinnowError } from "../core/errors.js";
import type { ScoreCache, ScoreCacheStats } from "../core/score-cache.js";

export interface MemoryScoreCacheOptions {
  /** Upper bound on memory held by entries, in bytes (default 64 MiB). */
  maxBytes?: number;
  /** Entries expire this many milliseconds after being written (default: never). */
  ttlMs?: number;
}

// A JS string costs ~2 bytes per char plus a header; a map entry and the number add more.
// An estimate is enough: the bound exists so a long-running server cannot grow without limit.
const ENTRY_OVERHEAD_BYTES = 96;

function entryBytes(key: string): number {
  return ENTRY_OVERHEAD_BYTES + key.length * 2;
}

/** In-process LRU of scores, bounded in bytes, with optional TTL and hit/miss counters. */
export class MemoryScoreCache implements ScoreCache {
  readonly kind = "memory";
  private readonly lru: LRUCache<string, number>;
  private hits = 0;
  private misses = 0;

  constructor(options: MemoryScoreCacheOptions = {}) {
    const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    if (!Number.isInteger(maxBytes) || maxBytes < 1024) {
      throw new WinnowError("CONFIG_INVALID", `cache maxBytes must be an integer ≥ 1024, got ${String(maxBytes)}`, { details: { field: "maxBytes", min: 1024 } });
    }
    if (options.ttlMs !== undefined && (!Number.isFinite(options.ttlMs) || options.ttlMs <= 0)) {
      throw new WinnowError("CONFIG_INVALID", `cache ttlMs must be a positive number, got ${String(options.ttlMs)}`, { details: { field: "ttlMs" } });
    }
    this.lru = new LRUCache<string, number>({
      maxSize: maxBytes,
      sizeCalculation: (_value, key) => entryBytes(key),
      ttl: options.ttlMs,
      ttlAutopurge: false,
    });
  }

  async getMany(keys: readonly string[]): Promise<Array<number | undefined>> {
    return keys.map((k) => {
      const v = this.lru.get(k);
      if (v === undefined) this.misses++;
      else this.hits++;
      return v;
    });
  }

  async setMany(entries: ReadonlyArray<readonly [string, number]>): Promise<void> {
    for (const [k, v] of entries) this.lru.set(k, v);
  }

  stats(): ScoreCacheStats {
    return { hits: this.hits, misses: this.misses, errors: 0, entries: this.lru.size, bytes: this.lru.calculatedSize };
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}
