import { InvalidInputError, throwIfAborted } from "../core/errors.js";
import { documentText, toQuery } from "../core/inputs.js";
import type { ScoreCache } from "../core/score-cache.js";
import type { Candidate, Document, MetadataFilter, Query, QueryInput, Reranker } from "../core/types.js";
import { adaptReranker } from "../core/adapted-reranker.js";
import type { RerankerBase } from "../core/reranker-base.js";
import { reciprocalRankFusion, weightedScoreFusion, type ScoreNormalization } from "../retrieval/fusion/fusion.js";
import { validateMetadataFilter } from "../retrieval/pools/metadata-filter.js";
import { retrievePools, validatePools, type Pool } from "../retrieval/pools/pools.js";
import { validateWeightedScoring, weightedScores, type WeightedScoring } from "./weighted-scoring.js";

export type FusionSpec = { method: "rrf"; k?: number; limit?: number } | { method: "weighted"; normalization?: ScoreNormalization; limit?: number };

export interface StageSpec {
  reranker: Reranker;
  /** Rerank only the best `topK` candidates from the previous stage (selective reranking). */
  topK: number;
  /** Name of the stage's score in results (default `stage<i>`, or the reranker's name). */
  name?: string;
  /**
   * Drop candidates this stage scored below `threshold`, on the scale its reranker returns
   * (a cross-encoder's sigmoid(logit) unless it is set to calibrated scores).
   */
  threshold?: number;
  /** Candidates per reranker call when a budget is set (default 16): the budget's granularity. */
  batchSize?: number;
  /**
   * Settings that identify a reranker of your own (one not extending RerankerBase) in the
   * score cache (default: its name). A Winnow family keys the cache by its own settings.
   */
  cacheSettings?: unknown;
}

export interface PipelineOptions {
  retrievers: Pool[];
  fusion?: FusionSpec;
  stages?: StageSpec[];
  /** Results returned (default 10). */
  topN?: number;
  /** End-to-end deadline for one search; reranking stops batch by batch when it would pass it. */
  budgetMs?: number;
  /**
   * Score cache shared by all stages (memory or Redis), attached to each stage's reranker
   * that has none of its own; listwise rerankers never use it.
   */
  cache?: ScoreCache;
  /** Weighted final scoring over the last stage's candidates. */
  scoring?: WeightedScoring;
}

export interface SearchRequestOptions {
  topN?: number;
  budgetMs?: number;
  filter?: MetadataFilter;
  signal?: AbortSignal;
  returnDocuments?: boolean;
}

export interface PipelineHit {
  id: string;
  /** The final score: weighted score or the last stage's score for reranked hits, the first-stage score otherwise. */
  score: number;
  /** 1-based rank after first-stage retrieval and fusion. */
  firstStageRank: number;
  /** Whether the last stage scored this hit (false: budget ran out or it was below a stage's topK). */
  reranked: boolean;
  /** Every named score: pools, fusion (`rrf`/`fused`), stages, `final`. */
  scores: Record<string, number>;
  source?: string;
  document?: Document;
}

export interface StageReport {
  name: string;
  /** Candidates the stage was asked to score (min(topK, available)). */
  candidates: number;
  /** Candidates it actually scored before the budget ran out. */
  reranked: number;
  /** Scored candidates dropped by the threshold. */
  dropped: number;
  ms: number;
}

export interface PipelineResult {
  query: string;
  results: PipelineHit[];
  /** Candidates after fusion. */
  candidates: number;
  /** Candidates the last stage scored. */
  reranked: number;
  stages: StageReport[];
  timings: { retrieval: Record<string, number>; fusion: number; stages: Record<string, number>; scoring: number; total: number };
  budget?: { ms: number; exhausted: boolean };
}

interface Item {
  candidate: Candidate;
  firstStageRank: number;
  scores: Record<string, number>;
  /** Index of the last stage that scored this item, -1 for none. */
  scoredBy: number;
  score: number;
}

interface Stage extends Required<Omit<StageSpec, "reranker" | "threshold" | "cacheSettings">> {
  /** On the shared scoring path (adapted when the stage's reranker is not a family). */
  reranker: RerankerBase;
  threshold?: number;
  /**
   * Running estimate of scoring time per character of (query + document) text, to stop
   * before a batch would overrun the budget. Per character rather than per candidate
   * because a batch of long abstracts costs many times a batch of titles.
   */
  msPerChar?: number;
}

// Abstract-length texts (~1,200 characters), so the warm-up cost estimate resembles real candidates.
const WARMUP_SENTENCE = "Reranking reads the query and each candidate together to judge relevance more precisely than the first stage. ";
const WARMUP_DOCUMENTS = [WARMUP_SENTENCE.repeat(11), WARMUP_SENTENCE.repeat(10)];

function positiveInt(v: unknown, field: string, max = 100_000): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    throw new InvalidInputError(`${field} must be an integer in 1..${max}, got ${String(v)}`, { field });
  }
  return v;
}

function checkBudget(v: unknown, field: string): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    throw new InvalidInputError(`${field} must be a number of milliseconds > 0, got ${String(v)}`, { field });
  }
  return v;
}

/**
 * A two-stage (or n-stage) search: pools retrieved concurrently, fused, then reranked by
 * a cascade of stages, each over the best `topK` of the previous one, within an optional
 * latency budget; candidates a stage does not reach keep their earlier order below the
 * ones it scored.
 */
export class Pipeline {
  private readonly pools: Pool[];
  private readonly fusion?: FusionSpec;
  private readonly stages: Stage[];
  /** Results a search returns when the request names no topN. */
  readonly topN: number;
  private readonly budgetMs?: number;
  private readonly scoring?: WeightedScoring;
  readonly cache?: ScoreCache;

  constructor(options: PipelineOptions) {
    validatePools(options.retrievers);
    this.pools = options.retrievers;
    this.fusion = options.fusion;
    if (this.fusion && this.fusion.method !== "rrf" && this.fusion.method !== "weighted") {
      throw new InvalidInputError(`fusion.method must be "rrf" or "weighted", got ${String((this.fusion as { method: unknown }).method)}`, { field: "fusion.method" });
    }
    this.topN = positiveInt(options.topN ?? 10, "topN");
    this.budgetMs = checkBudget(options.budgetMs, "budgetMs");
    this.scoring = options.scoring ? validateWeightedScoring(options.scoring) : undefined;
    this.cache = options.cache;
    const names = new Set<string>();
    this.stages = (options.stages ?? []).map((s, i) => {
      const field = `stages[${i}]`;
      if (!s || typeof s.reranker?.rerank !== "function") {
        throw new InvalidInputError(`${field}.reranker must implement rerank()`, { field: `${field}.reranker` });
      }
      const name = s.name ?? (names.has(s.reranker.name) ? `stage${i + 1}` : s.reranker.name);
      if (names.has(name)) throw new InvalidInputError(`${field}.name "${name}" is used twice`, { field: `${field}.name` });
      names.add(name);
      if (s.threshold !== undefined && !Number.isFinite(s.threshold)) {
        throw new InvalidInputError(`${field}.threshold must be a finite number`, { field: `${field}.threshold` });
      }
      const reranker = adaptReranker(s.reranker, { settings: s.cacheSettings ?? { name: s.reranker.name } });
      if (options.cache && !reranker.scoreCache) reranker.useCache(options.cache);
      return {
        reranker,
        topK: positiveInt(s.topK, `${field}.topK`),
        name,
        threshold: s.threshold,
        batchSize: positiveInt(s.batchSize ?? 16, `${field}.batchSize`, 10_000),
      };
    });
  }

  async search(query: QueryInput, options: SearchRequestOptions = {}): Promise<PipelineResult> {
    const t0 = performance.now();
    const q = toQuery(query);
    const topN = positiveInt(options.topN ?? this.topN, "topN");
    const budgetMs = checkBudget(options.budgetMs, "budgetMs") ?? this.budgetMs;
    const deadline = budgetMs === undefined ? Infinity : t0 + budgetMs;
    if (options.filter !== undefined) validateMetadataFilter(options.filter);

    const { lists, timings: retrieval } = await retrievePools(this.pools, q, { signal: options.signal, filter: options.filter });
    const tf = performance.now();
    let fused: Candidate[];
    if (lists.length === 1 && !this.fusion) {
      fused = [...lists[0].candidates];
    } else if (this.fusion?.method === "weighted") {
      fused = weightedScoreFusion(lists, { normalization: this.fusion.normalization, limit: this.fusion.limit });
    } else {
      fused = reciprocalRankFusion(lists, { k: this.fusion?.k, limit: this.fusion?.limit });
    }
    const fusionMs = performance.now() - tf;

    let order: Item[] = fused.map((c, i) => ({ candidate: c, firstStageRank: i + 1, scores: { ...c.scores }, scoredBy: -1, score: c.score }));
    const reports: StageReport[] = [];
    let exhausted = false;
    for (let s = 0; s < this.stages.length; s++) {
      throwIfAborted(options.signal);
      const r = await this.runStage(s, q, order, deadline, options.signal);
      order = r.order;
      reports.push(r.report);
      exhausted ||= r.exhausted;
    }

    const ts = performance.now();
    const last = this.stages.length - 1;
    // The prefix the last stage scored is contiguous: scored items sort before unscored ones.
    let head = last >= 0 ? order.filter((it) => it.scoredBy === last) : [];
    const rest = last >= 0 ? order.filter((it) => it.scoredBy !== last) : order;
    if (this.scoring && head.length > 0) {
      const lastName = this.stages[last].name;
      const w = weightedScores(
        head.map((it) => ({ document: it.candidate.document, scores: { ...it.scores, rerank: it.scores[lastName] } })),
        this.scoring,
      );
      head.forEach((it, i) => {
        it.score = w[i];
        it.scores.final = w[i];
      });
      head = head.map((it, i) => ({ it, i })).sort((a, b) => b.it.score - a.it.score || a.i - b.i).map((x) => x.it);
    }
    const scoringMs = performance.now() - ts;
    const withDocs = options.returnDocuments ?? true;
    const results = [...head, ...rest].slice(0, topN).map((it): PipelineHit => {
      const hit: PipelineHit = {
        id: it.candidate.document.id,
        score: it.score,
        firstStageRank: it.firstStageRank,
        reranked: last >= 0 && it.scoredBy === last,
        scores: it.scores,
        source: it.candidate.source,
      };
      if (withDocs) hit.document = it.candidate.document;
      return hit;
    });
    const stageTimings: Record<string, number> = {};
    for (const r of reports) stageTimings[r.name] = r.ms;
    const result: PipelineResult = {
      query: q.text,
      results,
      candidates: fused.length,
      reranked: reports.length > 0 ? reports[reports.length - 1].reranked : 0,
      stages: reports,
      timings: { retrieval, fusion: fusionMs, stages: stageTimings, scoring: scoringMs, total: performance.now() - t0 },
    };
    if (budgetMs !== undefined) result.budget = { ms: budgetMs, exhausted };
    return result;
  }

  private async runStage(
    s: number,
    query: Query,
    order: Item[],
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<{ order: Item[]; report: StageReport; exhausted: boolean }> {
    const stage = this.stages[s];
    const t0 = performance.now();
    const head = order.slice(0, stage.topK);
    const tail = order.slice(stage.topK);
    const scored: Array<{ item: Item; pos: number }> = [];
    const score = (item: Item, pos: number, value: number) => {
      item.scores[stage.name] = value;
      item.score = value;
      item.scoredBy = s;
      scored.push({ item, pos });
    };
    // Cached scores cost no model time: take them all before spending any budget, so a
    // repeated query is never reranked less than the first time.
    let todo = head.map((_, pos) => pos);
    const lookedUp = stage.reranker.scoreCache !== undefined && head.length > 0;
    if (lookedUp) {
      const hits = await stage.reranker.cachedScores(query, head.map((it) => it.candidate));
      todo = todo.filter((pos) => {
        const v = hits[pos];
        if (v === undefined) return true;
        score(head[pos], pos, v);
        return false;
      });
    }
    let exhausted = false;
    // Without a deadline the reranker gets everything at once and batches as it likes.
    const batchSize = Number.isFinite(deadline) ? stage.batchSize : Math.max(1, todo.length);
    let next = 0;
    while (next < todo.length) {
      const positions = todo.slice(next, next + batchSize);
      const batch = positions.map((pos) => head[pos]);
      const now = performance.now();
      const chars = batch.reduce((sum, it) => sum + query.text.length + documentText(it.candidate.document).length, 0);
      const predicted = (stage.msPerChar ?? 0) * chars;
      if (now + predicted > deadline) {
        exhausted = true;
        break;
      }
      const tb = performance.now();
      const candidates = batch.map((it) => it.candidate);
      const rerankOptions = { returnDocuments: false, signal };
      // Misses only: the lookup above already answered the rest (and counted them).
      const ranked = lookedUp ? await stage.reranker.rerankUncached(query, candidates, rerankOptions) : await stage.reranker.rerank(query, candidates, rerankOptions);
      const perChar = (performance.now() - tb) / Math.max(1, chars);
      // Exponential moving average across requests: the next batch (or request) predicts from recent ones.
      stage.msPerChar = stage.msPerChar === undefined ? perChar : 0.7 * stage.msPerChar + 0.3 * perChar;
      for (const r of ranked) score(batch[r.index], positions[r.index], r.score);
      next += batch.length;
    }
    scored.sort((a, b) => (Number.isNaN(b.item.score) ? -Infinity : b.item.score) - (Number.isNaN(a.item.score) ? -Infinity : a.item.score) || a.pos - b.pos);
    const kept = stage.threshold === undefined ? scored : scored.filter((x) => x.item.score >= stage.threshold!);
    const unreached = head.filter((it) => it.scoredBy !== s);
    const report: StageReport = {
      name: stage.name,
      candidates: head.length,
      reranked: scored.length,
      dropped: scored.length - kept.length,
      ms: performance.now() - t0,
    };
    return { order: [...kept.map((x) => x.item), ...unreached, ...tail], report, exhausted };
  }

  /**
   * Runs every stage once on a small input so model sessions are created and warm
   * before the first real search, and seeds each stage's per-candidate cost so the
   * budget check can predict the very first batch. Without it the first search pays
   * session start-up inside its budget.
   */
  async warmup(sample: readonly string[] = WARMUP_DOCUMENTS): Promise<void> {
    const query = "warm-up query";
    const chars = sample.reduce((sum, d) => sum + query.length + d.length, 0);
    for (const stage of this.stages) {
      // Off the cache: a hit would time nothing, and warm-up pairs are not worth keeping.
      const cache = stage.reranker.scoreCache;
      stage.reranker.useCache(undefined);
      try {
        await stage.reranker.rerank(query, sample, { returnDocuments: false });
        const t = performance.now();
        await stage.reranker.rerank(query, sample, { returnDocuments: false });
        stage.msPerChar = (performance.now() - t) / chars;
      } finally {
        stage.reranker.useCache(cache);
      }
    }
  }

  async close(): Promise<void> {
    for (const s of this.stages) await s.reranker.close?.();
    await this.cache?.close?.();
  }
}

export function createPipeline(options: PipelineOptions): Pipeline {
  return new Pipeline(options);
}
