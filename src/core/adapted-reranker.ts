import { WinnowError } from "./errors.js";
import { RerankerBase, stableJson, type InstructionSupport, type RerankerBaseOptions, type ScoringCall, type ScoringKind, type ScoringOutcome } from "./reranker-base.js";
import type { Reranker } from "./types.js";

export interface AdaptedRerankerOptions extends RerankerBaseOptions {
  /**
   * What makes this reranker's scores interchangeable with another's (its spec, model,
   * version…), for the score cache. Default: its name.
   */
  settings?: unknown;
  /**
   * "pointwise" (default): each score depends on (query, document) only, so scores are
   * cached per document. "listwise": the reranker orders the list as a whole; it gets
   * `topN` and is never cached.
   */
  scoring?: ScoringKind;
}

/**
 * Puts a `Reranker` that does not extend RerankerBase (a user's own object, a registered
 * factory's result) on the shared path: the same validation, cache, ranking and fallback
 * as every family. The inner reranker is asked to score the candidates (all of them,
 * documents left out) and its answer is mapped back by `index`.
 */
export class AdaptedReranker extends RerankerBase {
  readonly name: string;
  readonly scoring: ScoringKind;
  /** Passed through: the inner reranker takes or refuses it. */
  override readonly instruction: InstructionSupport = "accepted";
  private readonly identity: string;

  constructor(
    readonly inner: Reranker,
    options: AdaptedRerankerOptions = {},
  ) {
    super(options);
    if (inner === null || typeof inner !== "object" || typeof inner.rerank !== "function") {
      throw new WinnowError("CONFIG_INVALID", "reranker must implement rerank()", { details: { field: "reranker" } });
    }
    this.name = inner.name;
    this.scoring = options.scoring ?? "pointwise";
    this.identity = stableJson(options.settings ?? { name: inner.name });
  }

  protected override cacheIdentity(): string {
    return this.identity;
  }

  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    const ranked = await this.inner.rerank(call.query, call.candidates, {
      ...call.options,
      // Pointwise: every score is needed (cache, budget batches); listwise: the inner list decides.
      topN: this.scoring === "listwise" ? call.topN : undefined,
      instruction: call.instruction,
      returnDocuments: false,
      onWarnings: undefined,
    });
    const n = call.candidates.length;
    // Whatever the inner reranker leaves out stays unscored (NaN: last, never cached).
    const scores = new Float64Array(n).fill(Number.NaN);
    const details = new Map<number, Record<string, unknown>>();
    const order: number[] = [];
    const seen = new Uint8Array(n);
    let degraded = false;
    for (const r of ranked) {
      if (!Number.isInteger(r?.index) || r.index < 0 || r.index >= n || seen[r.index]) {
        throw new WinnowError("INTERNAL", `${this.name} returned result index ${String(r?.index)}: not a distinct index into its ${n} candidates`);
      }
      seen[r.index] = 1;
      scores[r.index] = typeof r.score === "number" ? r.score : Number.NaN;
      if (r.details) details.set(r.index, r.details);
      if (r.details?.degraded === true) degraded = true;
      order.push(r.index);
    }
    return {
      scores,
      order: this.scoring === "listwise" ? order : undefined,
      details: (i) => details.get(i),
      // A first-stage fallback the inner reranker answered is not a score to serve later.
      store: !degraded,
    };
  }

  override async close(): Promise<void> {
    await this.inner.close?.();
  }
}

/** The reranker on the shared path: itself when it extends RerankerBase, else adapted. */
export function adaptReranker(reranker: Reranker, options: AdaptedRerankerOptions = {}): RerankerBase {
  return reranker instanceof RerankerBase ? reranker : new AdaptedReranker(reranker, options);
}
