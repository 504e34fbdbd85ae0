import { WinnowError, isWinnowError, throwIfAborted } from "./errors.js";
import { toCandidates, toQuery } from "./inputs.js";
import { rankByScores, validateTopN } from "./ranking.js";
import type { ScoreCache } from "./score-cache.js";
import type { Candidate, CandidateInput, Document, Query, QueryInput, RankedResult, Reranker, RerankOptions } from "./types.js";
import { scoreCacheKeys } from "../cache/score-cache-key.js";

/**
 * The one scoring contract. A family says how it scores and provides that one step;
 * everything around it (input validation, empty input, topN, the instruction rule, the
 * score cache, ranking with its tie and NaN rules, first-stage fallback with its flag,
 * warnings) happens here, once, for the library, pipelines and the server alike.
 *
 * - `pointwise`: each candidate's score depends only on (query, candidate), so scores
 *   may be cached per document and a request may be split or batched freely.
 * - `listwise`: the family orders the list as a whole (sliding-window LLMs, pairwise
 *   sorts); scores depend on the other candidates, so they are never cached per document,
 *   and `topN` reaches the family (it may stop once it knows the best topN).
 */
export type ScoringKind = "pointwise" | "listwise";

/** What a family is asked to score: validated, normalized and never empty. */
export interface ScoringCall {
  query: Query;
  candidates: readonly Candidate[];
  /** The call's instruction, else the query's; only given to families that accept one. */
  instruction: string | undefined;
  /** Validated; a listwise family may use it to stop early, a pointwise one ignores it. */
  topN: number | undefined;
  signal: AbortSignal | undefined;
  /** The whole call's options, for the family's own namespaced ones (`options.family?.[name]`). */
  options: RerankOptions;
}

/** What a family answers. */
export interface ScoringOutcome {
  /** One per candidate, higher is better. NaN means unscored: sorted last, never cached. */
  scores: ArrayLike<number>;
  /**
   * Listwise families: the order they chose, best first, as indices into the call's
   * candidates (it may cover only a prefix; the rest follow by score). Absent: by score.
   */
  order?: readonly number[];
  /** Family extras for one candidate (raw logit, windows, usage…). */
  details?: (index: number) => Record<string, unknown> | undefined;
  /** Said once per call: things the caller should know (truncation, repairs…). */
  warnings?: readonly string[];
  /** false: keep these scores out of the cache (e.g. a wrapped reranker answered a fallback). */
  store?: boolean;
}

/** How a family treats a call's instruction. */
export type InstructionSupport = "accepted" | "refused";

/** The error codes after which a remote family may answer the first-stage order instead (`onError: "fallback"`). */
const FALLBACK_CODES = new Set(["UPSTREAM_ERROR", "RATE_LIMITED", "TIMEOUT", "UNAVAILABLE"]);

/** Receives the warnings of calls and degraded events; default: none (the result's details say it). */
export interface RerankerEvents {
  onWarnings?(reranker: string, warnings: readonly string[]): void;
  onDegraded?(reranker: string, error: WinnowError, candidates: number): void;
}

export interface RerankerBaseOptions {
  /** Score cache for pointwise families (memory or Redis); listwise families never use one. */
  cache?: ScoreCache;
  /** "throw" (default) or "fallback": answer the first-stage order, flagged `degraded`, when the upstream fails. */
  onError?: "throw" | "fallback";
  events?: RerankerEvents;
}

/** Everything a reranker may read from a document, behind its id, so an edited document misses. */
export function documentCacheContent(doc: Document): string {
  return `${doc.id}\u0000${stableJson({ t: doc.title ?? "", x: doc.text, f: doc.fields ?? null })}`;
}

/** Stable JSON (sorted keys, undefined dropped): equal settings give equal cache identities. */
export function stableJson(value: unknown): string {
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

/**
 * The base every reranker family extends: it implements `rerank` once; a family
 * implements `score` (and says `scoring`, `instruction` and, to be cacheable,
 * `cacheIdentity`).
 */
export abstract class RerankerBase implements Reranker {
  abstract readonly name: string;
  abstract readonly scoring: ScoringKind;
  /** Whether the family reads an instruction; one it cannot use is refused, never dropped. */
  readonly instruction: InstructionSupport = "refused";
  protected cache: ScoreCache | undefined;
  protected onError: "throw" | "fallback";
  protected events: RerankerEvents;

  constructor(options: RerankerBaseOptions = {}) {
    this.cache = options.cache;
    this.onError = options.onError ?? "throw";
    this.events = options.events ?? {};
  }

  /** The family's scoring step. Candidates are never empty; the signal must be honoured. */
  protected abstract score(call: ScoringCall): Promise<ScoringOutcome>;

  /**
   * What makes two calls' scores interchangeable (model, revision, dtype, windowing and
   * any per-call option that changes a score). Undefined: this call is not cacheable.
   */
  protected cacheIdentity(_call: ScoringCall): string | undefined | Promise<string | undefined> {
    return undefined;
  }

  /** Checks the family's own per-call options before anything runs (even for empty input); throws WinnowError. */
  protected checkCall(_call: ScoringCall): void {
    // Families with per-call options override this.
  }

  /** Told after `score` threw, with whether the call is answered degraded instead (for the family's counters). */
  protected scoringFailed(_error: unknown, _degraded: boolean): void {
    // Families that count failures override this.
  }

  /** The cache attached (undefined: none), e.g. for its stats. */
  get scoreCache(): ScoreCache | undefined {
    return this.cache;
  }

  /** Attaches (or, with undefined, removes) the score cache; only pointwise families use it. */
  useCache(cache: ScoreCache | undefined): this {
    this.cache = cache;
    return this;
  }

  /** The cached score of each candidate (undefined for a miss): free, so budgets take these first. */
  async cachedScores(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<Array<number | undefined>> {
    const call = this.prepareCall(query, candidates, options);
    if (call.candidates.length === 0) return [];
    const keys = await this.cacheKeys(call);
    if (!keys || !this.cache) return call.candidates.map(() => undefined);
    return this.readCache(keys);
  }

  async rerank(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
    return this.run(this.prepareCall(query, candidates, options), true);
  }

  /**
   * Scores every candidate without reading the cache, and stores what it computed: for a
   * caller that already took `cachedScores` (a pipeline under a budget), so a miss is
   * neither read nor counted twice.
   */
  async rerankUncached(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
    return this.run(this.prepareCall(query, candidates, options), false);
  }

  private async run(call: ScoringCall, lookup: boolean): Promise<RankedResult[]> {
    const options = call.options;
    if (call.candidates.length === 0) return [];
    throwIfAborted(call.signal);
    const keys = await this.cacheKeys(call);
    const hits = lookup && keys && this.cache ? await this.readCache(keys) : undefined;
    const misses = hits ? call.candidates.map((_, i) => i).filter((i) => hits[i] === undefined) : call.candidates.map((_, i) => i);

    let outcome: ScoringOutcome = { scores: [] };
    if (misses.length > 0) {
      const part = misses.length === call.candidates.length ? call : { ...call, candidates: misses.map((i) => call.candidates[i]) };
      try {
        outcome = await this.score(part);
      } catch (err) {
        const degraded = this.mayFallBack(err, call.signal);
        this.scoringFailed(err, degraded);
        if (!degraded) throw err;
        this.events.onDegraded?.(this.name, err, call.candidates.length);
        return firstStageOrder(call.candidates, options, err);
      }
      if (outcome.scores.length !== part.candidates.length) {
        throw new WinnowError("INTERNAL", `${this.name}: ${outcome.scores.length} scores for ${part.candidates.length} candidates`);
      }
      if (outcome.warnings?.length) {
        this.events.onWarnings?.(this.name, outcome.warnings);
        options.onWarnings?.(outcome.warnings);
      }
    }

    // Back to the caller's indices.
    const scores = new Float64Array(call.candidates.length);
    const fresh = new Int32Array(call.candidates.length).fill(-1);
    misses.forEach((i, k) => {
      scores[i] = outcome.scores[k];
      fresh[i] = k;
    });
    if (hits) hits.forEach((v, i) => v !== undefined && (scores[i] = v));
    if (keys && this.cache && misses.length > 0 && outcome.store !== false) {
      // An unscored (NaN) candidate is never stored, or it would be served as a score later.
      const entries = misses.filter((i) => Number.isFinite(scores[i])).map((i) => [keys[i], scores[i]] as const);
      await this.writeCache(entries);
    }
    const details = (i: number): Record<string, unknown> | undefined => {
      if (fresh[i] < 0) return { cached: true };
      const d = outcome.details?.(fresh[i]);
      return hits ? { ...d, cached: false } : d;
    };
    const ranked = outcome.order ? rankByOrder(call.candidates, scores, outcome.order, options, details) : rankByScores(call.candidates, scores, options, details);
    return ranked;
  }

  async close(): Promise<void> {
    // Families with native resources override this.
  }

  private prepareCall(query: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions): ScoringCall {
    const q = toQuery(query);
    const cands = toCandidates(candidates);
    const topN = validateTopN(options.topN);
    const instruction = options.instruction ?? q.instruction;
    if (instruction !== undefined && typeof instruction !== "string") {
      throw new WinnowError("INVALID_INPUT", "instruction: must be a string", { details: { field: "instruction" } });
    }
    if (instruction && this.instruction === "refused") {
      throw new WinnowError("INVALID_INPUT", `instruction: the ${this.name} reranker does not read an instruction (it would be ignored); remove it or use a family that takes one (llm)`, {
        details: { field: "instruction", reranker: this.name },
      });
    }
    if (options.family !== undefined && (options.family === null || typeof options.family !== "object" || Array.isArray(options.family))) {
      throw new WinnowError("INVALID_INPUT", "family: must be an object of per-family options (e.g. { \"cross-encoder\": { truncate: true } })", { details: { field: "family" } });
    }
    const call: ScoringCall = { query: q, candidates: cands, instruction: instruction || undefined, topN, signal: options.signal, options };
    this.checkCall(call);
    return call;
  }

  private async cacheKeys(call: ScoringCall): Promise<string[] | undefined> {
    if (this.scoring !== "pointwise" || !this.cache) return undefined;
    const identity = await this.cacheIdentity(call);
    if (identity === undefined) return undefined;
    // The instruction changes what instruction-following models score: part of the query side.
    return scoreCacheKeys(identity, `${call.query.text}\u0000${call.instruction ?? ""}`, call.candidates.map((c) => documentCacheContent(c.document)));
  }

  private async readCache(keys: string[]): Promise<Array<number | undefined>> {
    try {
      return await this.cache!.getMany(keys);
    } catch {
      // ScoreCache implementations promise not to throw; if one does, a cache must still never fail a rerank.
      return keys.map(() => undefined);
    }
  }

  private async writeCache(entries: ReadonlyArray<readonly [string, number]>): Promise<void> {
    if (entries.length === 0) return;
    try {
      await this.cache!.setMany(entries);
    } catch {
      // see readCache
    }
  }

  private mayFallBack(err: unknown, signal: AbortSignal | undefined): err is WinnowError {
    return this.onError === "fallback" && isWinnowError(err) && FALLBACK_CODES.has(err.code) && !signal?.aborted;
  }
}

/**
 * The first-stage order, flagged: what a remote family answers when its upstream is down
 * and the caller chose `onError: "fallback"`. Candidates keep their rank (ties by input
 * position) and their first-stage score; every result says `degraded: true` and why.
 */
export function firstStageOrder(candidates: readonly Candidate[], options: Pick<RerankOptions, "topN" | "returnDocuments">, error: WinnowError): RankedResult[] {
  const ranked = rankByScores(
    candidates,
    candidates.map((c) => -c.rank),
    options,
    () => ({ degraded: true, reason: error.code }),
  );
  for (const r of ranked) r.score = candidates[r.index].score;
  return ranked;
}

/** A listwise family's order first (it may cover a prefix), then the rest by score (ties by input, NaN last). */
function rankByOrder(
  candidates: readonly Candidate[],
  scores: Float64Array,
  order: readonly number[],
  options: Pick<RerankOptions, "topN" | "returnDocuments">,
  details: (i: number) => Record<string, unknown> | undefined,
): RankedResult[] {
  const seen = new Uint8Array(candidates.length);
  const head: number[] = [];
  for (const i of order) {
    if (!Number.isInteger(i) || i < 0 || i >= candidates.length || seen[i]) throw new WinnowError("INTERNAL", `listwise order names candidate ${i} twice or out of range`);
    seen[i] = 1;
    head.push(i);
  }
  const rest = rankByScores(candidates, scores, { returnDocuments: false }).map((r) => r.index).filter((i) => !seen[i]);
  const all = [...head, ...rest];
  const topN = validateTopN(options.topN);
  const keep = topN === undefined ? all : all.slice(0, topN);
  const withDocs = options.returnDocuments ?? true;
  return keep.map((i) => {
    const r: RankedResult = { index: i, id: candidates[i].document.id, score: scores[i] };
    if (withDocs) r.document = candidates[i].document;
    const d = details(i);
    if (d) r.details = d;
    return r;
  });
}
