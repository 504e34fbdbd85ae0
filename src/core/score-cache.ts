/**
 * A cache of reranker scores, shared by every reranker family. Keys are built by the
 * reranker from (its id and settings, query, document id + content hash); values are
 * the raw scores. Implementations: in-process LRU (bytes-bounded, TTL) and Redis.
 * A cache must never make a rerank fail: implementations swallow their own outages
 * (and count them) and answer misses instead.
 */
export interface ScoreCacheStats {
  hits: number;
  misses: number;
  /** Failed operations against the backing store (e.g. Redis down). */
  errors: number;
  entries?: number;
  bytes?: number;
}

export interface ScoreCache {
  readonly kind: string;
  getMany(keys: readonly string[]): Promise<Array<number | undefined>>;
  setMany(entries: ReadonlyArray<readonly [string, number]>): Promise<void>;
  stats(): ScoreCacheStats;
  close?(): Promise<void>;
}
