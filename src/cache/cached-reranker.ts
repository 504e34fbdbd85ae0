import { AdaptedReranker } from "../core/adapted-reranker.js";
import type { ScoreCache } from "../core/score-cache.js";
import type { Reranker } from "../core/types.js";

export interface CachedRerankerOptions {
  /** What makes two rerankers' scores interchangeable (default: the reranker's name). */
  settings?: unknown;
}

/**
 * @deprecated The score cache is part of every reranker's scoring path now: call
 * `reranker.useCache(cache)` on a Winnow family, or wrap your own reranker with
 * `new AdaptedReranker(reranker, { cache, settings })`. Kept so existing imports work.
 */
export class CachedReranker extends AdaptedReranker {
  constructor(inner: Reranker, cache: ScoreCache, options: CachedRerankerOptions = {}) {
    super(inner, { cache, settings: options.settings });
  }
}
