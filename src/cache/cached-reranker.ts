import { toCandidates, toQuery } from "../core/inputs.js";
import { rankByScores } from "../core/ranking.js";
import type { ScoreCache } from "../core/score-cache.js";
import { scoreCacheKeys } from "./score-cache-key.js";
import type { CandidateInput, Document, QueryInput, RankedResult, Reranker, RerankOptions } from "../core/types.js";

export interface CachedRerankerOptions {
  /**
   * What makes two rerankers' scores interchangeable: family, model, revision, dtype,
   * max length… Defaults to the reranker's name. Pass the full spec when you have it.
   */
  settings?: unknown;
}

/** Stable JSON (sorted keys) so `{a,b}` and `{b,a}` settings share cache entries. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj)
      .sort()
      .filter((k) => obj[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${stableJson(obj[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** Everything a reranker may read from a document, behind its id, so an edited document misses. */
function keyedContent(doc: Document): string {
  return `${doc.id}\u0000${stableJson({ t: doc.title ?? "", x: doc.text, f: doc.fields ?? null })}`;
}

/**
 * Wraps any pointwise reranker with a ScoreCache: key = (reranker settings, query,
 * document id + content hash); only the misses reach the model. Listwise rerankers
 * (whose score depends on the other candidates) should not be wrapped.
 */
export class CachedReranker implements Reranker {
  readonly name: string;
  private readonly scorerId: string;

  constructor(
    readonly inner: Reranker,
    readonly cache: ScoreCache,
    options: CachedRerankerOptions = {},
  ) {
    this.name = inner.name;
    this.scorerId = stableJson(options.settings ?? { name: inner.name });
  }

  /** Cache keys of (query, document) pairs, in input order; exposed for tests and cache inspection. */
  keys(query: QueryInput, docs: readonly Document[], instruction?: string): string[] {
    const q = toQuery(query);
    // The instruction changes what instruction-following rerankers score, so it is part of the query side.
    const querySide = `${q.text}\u0000${instruction ?? q.instruction ?? ""}`;
    return scoreCacheKeys(this.scorerId, querySide, docs.map(keyedContent));
  }

  /**
   * The cached score of each candidate, in input order; undefined for a miss. Reads cost no
   * model time, so a pipeline under a latency budget takes these before it spends any.
   */
  async lookup(query: QueryInput, candidates: readonly CandidateInput[], options: Pick<RerankOptions, "instruction"> = {}): Promise<Array<number | undefined>> {
    const keys = this.keys(query, toCandidates(candidates).map((c) => c.document), options.instruction);
    try {
      return await this.cache.getMany(keys);
    } catch {
      // ScoreCache implementations promise not to throw; if one does, a cache must still never fail a rerank.
      return keys.map(() => undefined);
    }
  }

  /**
   * Scores every candidate with the wrapped reranker (no lookup) and stores the scores it
   * really computed. Results index into `candidates`. A first-stage fallback (`degraded`)
   * or an unscored candidate (NaN) is never stored, or it would be served as a score later.
   */
  async scoreAndStore(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
    const q = toQuery(query);
    const cands = toCandidates(candidates);
    const fresh = await this.inner.rerank(q, cands, { ...options, topN: undefined });
    const keys = this.keys(q, cands.map((c) => c.document), options.instruction);
    const entries: Array<[string, number]> = [];
    for (const r of fresh) {
      if (Number.isFinite(r.score) && r.details?.degraded !== true) entries.push([keys[r.index], r.score]);
    }
    try {
      await this.cache.setMany(entries);
    } catch {
      // see lookup above
    }
    return fresh;
  }

  async rerank(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
    const q = toQuery(query);
    const cands = toCandidates(candidates);
    const cached = await this.lookup(q, cands, options);
    const scores = new Float64Array(cands.length);
    const details = new Map<number, Record<string, unknown>>();
    const misses: number[] = [];
    cached.forEach((s, i) => {
      if (s === undefined) misses.push(i);
      else scores[i] = s;
    });
    if (misses.length > 0) {
      const fresh = await this.scoreAndStore(
        q,
        misses.map((i) => cands[i]),
        { ...options, returnDocuments: false },
      );
      for (const r of fresh) {
        const i = misses[r.index];
        scores[i] = r.score;
        if (r.details) details.set(i, r.details);
      }
    }
    return rankByScores(cands, scores, options, (i) => ({ ...details.get(i), cached: cached[i] !== undefined }));
  }

  async close(): Promise<void> {
    await this.inner.close?.();
  }
}
