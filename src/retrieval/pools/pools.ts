import { InvalidInputError, throwIfAborted } from "../../core/errors.js";
import type { Candidate, MetadataFilter, Query, Retriever } from "../../core/types.js";
import type { RankedList } from "../fusion/fusion.js";
import { matchesMetadataFilter, validateMetadataFilter } from "./metadata-filter.js";

/**
 * A candidate pool: one retriever asked for its best `k`, optionally restricted by a
 * metadata filter (e.g. a "recent" pool next to a plain one, both fused before reranking).
 */
export interface Pool {
  name: string;
  retriever: Retriever;
  k: number;
  filter?: MetadataFilter;
  /** Weight of this pool in fusion (default 1). */
  weight?: number;
}

export interface PoolRetrieval {
  lists: RankedList[];
  /** Milliseconds per pool, keyed by pool name. */
  timings: Record<string, number>;
}

export function validatePools(pools: readonly Pool[]): void {
  if (!Array.isArray(pools) || pools.length === 0) {
    throw new InvalidInputError("retrievers must list at least one pool", { field: "retrievers" });
  }
  const names = new Set<string>();
  pools.forEach((p, i) => {
    const field = `retrievers[${i}]`;
    if (!p || typeof p.retriever?.search !== "function") {
      throw new InvalidInputError(`${field}.retriever must implement search(query, k)`, { field: `${field}.retriever` });
    }
    if (typeof p.name !== "string" || p.name.length === 0) throw new InvalidInputError(`${field}.name must be a non-empty string`, { field: `${field}.name` });
    if (names.has(p.name)) throw new InvalidInputError(`${field}.name "${p.name}" is used twice; pool names must be unique`, { field: `${field}.name` });
    names.add(p.name);
    if (!Number.isInteger(p.k) || p.k < 1 || p.k > 10_000) {
      throw new InvalidInputError(`${field}.k must be an integer in 1..10000, got ${String(p.k)}`, { field: `${field}.k` });
    }
    if (p.filter !== undefined) validateMetadataFilter(p.filter, `${field}.filter`);
  });
}

/**
 * Runs every pool concurrently (a slow dense retriever does not wait for BM25) and
 * re-applies the filters to what comes back, so a retriever that ignores
 * `options.filter` still cannot leak filtered-out documents into the pool.
 */
export async function retrievePools(
  pools: readonly Pool[],
  query: Query,
  options: { signal?: AbortSignal; filter?: MetadataFilter } = {},
): Promise<PoolRetrieval> {
  const timings: Record<string, number> = {};
  const lists = await Promise.all(
    pools.map(async (pool): Promise<RankedList> => {
      throwIfAborted(options.signal);
      const t0 = performance.now();
      const combined = options.filter || pool.filter ? { ...options.filter, ...pool.filter } : undefined;
      const found = await pool.retriever.search(query, pool.k, { signal: options.signal, filter: combined });
      const kept: Candidate[] = found
        .filter((c) => matchesMetadataFilter(c.document.metadata, pool.filter) && matchesMetadataFilter(c.document.metadata, options.filter))
        .slice(0, pool.k)
        .map((c, i) => ({ ...c, rank: i + 1, source: pool.name, scores: { ...c.scores, [pool.name]: c.score } }));
      timings[pool.name] = performance.now() - t0;
      return { name: pool.name, candidates: kept, weight: pool.weight };
    }),
  );
  return { lists, timings };
}
