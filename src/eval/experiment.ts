import { InvalidInputError, throwIfAborted } from "../core/errors.js";
import type { Candidate, Query, Reranker } from "../core/types.js";
import { evaluateRun, type EvaluateOptions, type EvaluationResult } from "./evaluate.js";
import { computeLift, type LiftReport } from "./lift.js";
import { DEFAULT_METRICS } from "./metrics.js";
import type { Qrels } from "./readers/qrels.js";
import { trecOrder, type Run, type RunEntry } from "./run.js";

/** Anything that returns first-stage candidates for a query (a BM25 index, a pipeline pool…). */
export interface FirstStage {
  search(query: Query, k: number): Candidate[] | Promise<Candidate[]>;
}

export interface ExperimentOptions extends EvaluateOptions {
  queries: readonly Query[];
  qrels: Qrels;
  firstStage: FirstStage;
  /** Documents retrieved per query by the first stage (default 1000). */
  depth?: number;
  /** When given, rerank the top `candidates` of each query with it. */
  reranker?: Reranker;
  /** First-stage candidates handed to the reranker (default 100). */
  candidates?: number;
  metrics?: readonly string[];
  /** Depth of the top-k churn in the lift report (default 10). */
  liftK?: number;
  /** Seed and sign flips of the lift's randomization test (defaults as `compareRuns`). */
  seed?: number;
  trials?: number;
  /** Called after each query (for progress bars). */
  onQuery?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

export interface LatencySummary {
  totalMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
}

export interface ExperimentReport {
  /** Measures of the final run (reranked when a reranker was given). */
  metrics: Record<string, number>;
  /** Measures of the first-stage run, present when a reranker was given. */
  firstStage?: Record<string, number>;
  lift?: LiftReport;
  numQueries: number;
  timings: {
    search: LatencySummary & { queries: number; queriesPerSecond: number };
    rerank?: LatencySummary & { candidatesPerSecond: number };
  };
  evaluation: EvaluationResult;
  firstStageEvaluation?: EvaluationResult;
  runs: { firstStage: Run; final: Run };
}

/** Nearest-rank percentile of already sorted values. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export function summarizeLatencies(ms: readonly number[]): LatencySummary {
  const sorted = [...ms].sort((a, b) => a - b);
  const totalMs = ms.reduce((s, x) => s + x, 0);
  return { totalMs, meanMs: ms.length ? totalMs / ms.length : 0, p50Ms: percentile(sorted, 50), p95Ms: percentile(sorted, 95) };
}

/**
 * The first stage's hits re-sorted the way trec_eval will rank them (ties by docid
 * descending, ranks renumbered), so the candidates handed to the reranker are exactly
 * the top of the first-stage run being evaluated, even where a retriever breaks
 * score ties differently.
 */
export function inTrecOrder(hits: readonly Candidate[]): Candidate[] {
  const order = trecOrder(hits.map((c, i) => ({ docId: c.document.id, score: c.score, i })));
  return order.map((e, rank) => {
    const c = hits[e.i];
    return c.rank === rank + 1 ? c : { ...c, rank: rank + 1 };
  });
}

function checkCount(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new InvalidInputError(`${name} must be a positive integer, got ${String(value)}`, { field: name });
  return value;
}

/**
 * The reranked run for one query: the reranker's order for the top candidates, then
 * the first stage's remaining documents below them, so measures deeper than the
 * candidate count (recall_1000) still see the whole first-stage list, as a pipeline
 * that returns `depth` results would. Scores of the tail are placed strictly below the
 * lowest reranker score, keeping the first-stage order.
 */
export function mergeReranked(
  queryId: string,
  candidates: readonly Candidate[],
  results: ReadonlyArray<{ index: number; score: number }>,
  tail: readonly Candidate[],
): RunEntry[] {
  const entries: RunEntry[] = [];
  const used = new Set<number>();
  let min = Number.POSITIVE_INFINITY;
  for (const r of results) {
    const cand = candidates[r.index];
    if (!Number.isInteger(r.index) || cand === undefined || used.has(r.index)) {
      throw new InvalidInputError(`reranker returned an invalid or repeated index ${r.index} for query "${queryId}"`, { field: "index" });
    }
    if (!Number.isFinite(r.score)) {
      throw new InvalidInputError(`reranker returned a non-finite score for query "${queryId}" document "${cand.document.id}"`, {
        field: "score",
      });
    }
    used.add(r.index);
    entries.push({ docId: cand.document.id, score: r.score });
    if (r.score < min) min = r.score;
  }
  if (!Number.isFinite(min)) min = 0;
  // Candidates the reranker dropped keep their first-stage order, ahead of the tail.
  const rest = [...candidates.filter((_, i) => !used.has(i)), ...tail];
  rest.forEach((cand, i) => entries.push({ docId: cand.document.id, score: min - 1 - i }));
  return entries;
}

/**
 * Runs a first stage (and optionally a reranker over its top candidates) for every
 * judged query and evaluates both runs with trec_eval semantics, timing each stage.
 */
export async function runExperiment(options: ExperimentOptions): Promise<ExperimentReport> {
  const depth = checkCount("depth", options.depth ?? 1000);
  const candidateCount = checkCount("candidates", options.candidates ?? 100);
  if (options.reranker && candidateCount > depth) {
    throw new InvalidInputError(`candidates (${candidateCount}) must not exceed depth (${depth})`, { field: "candidates" });
  }
  const metrics = options.metrics ?? DEFAULT_METRICS;
  const evalOptions: EvaluateOptions = { relevanceLevel: options.relevanceLevel, complete: options.complete, depth: options.depth };
  const firstRun: Run = new Map();
  const finalRun: Run = new Map();
  const searchMs: number[] = [];
  const rerankMs: number[] = [];
  let reranked = 0;
  const total = options.queries.length;
  for (const [n, query] of options.queries.entries()) {
    throwIfAborted(options.signal);
    const qid = query.id ?? String(n);
    const t0 = performance.now();
    const found = await options.firstStage.search(query, depth);
    searchMs.push(performance.now() - t0);
    const hits = inTrecOrder(found);
    firstRun.set(qid, hits.map((c) => ({ docId: c.document.id, score: c.score })));
    if (options.reranker && hits.length > 0) {
      const top = hits.slice(0, candidateCount);
      const t1 = performance.now();
      const results = await options.reranker.rerank(query, top, { returnDocuments: false, signal: options.signal });
      rerankMs.push(performance.now() - t1);
      reranked += top.length;
      finalRun.set(qid, mergeReranked(qid, top, results, hits.slice(candidateCount)));
    }
    options.onQuery?.(n + 1, total);
  }
  const search = summarizeLatencies(searchMs);
  const timings: ExperimentReport["timings"] = {
    search: { ...search, queries: total, queriesPerSecond: search.totalMs > 0 ? (1000 * total) / search.totalMs : 0 },
  };
  const firstEval = evaluateRun(options.qrels, firstRun, metrics, evalOptions);
  if (!options.reranker) {
    return { metrics: firstEval.metrics, numQueries: firstEval.numQueries, timings, evaluation: firstEval, runs: { firstStage: firstRun, final: firstRun } };
  }
  const rr = summarizeLatencies(rerankMs);
  timings.rerank = { ...rr, candidatesPerSecond: rr.totalMs > 0 ? (1000 * reranked) / rr.totalMs : 0 };
  const finalEval = evaluateRun(options.qrels, finalRun, metrics, evalOptions);
  const lift = computeLift(options.qrels, firstRun, finalRun, { ...evalOptions, metrics, k: options.liftK ?? 10, seed: options.seed, trials: options.trials });
  return {
    metrics: finalEval.metrics,
    firstStage: firstEval.metrics,
    lift,
    numQueries: finalEval.numQueries,
    timings,
    evaluation: finalEval,
    firstStageEvaluation: firstEval,
    runs: { firstStage: firstRun, final: finalRun },
  };
}
