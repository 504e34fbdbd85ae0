import { InvalidInputError, throwIfAborted } from "../../core/errors.js";
import type { Query, Reranker } from "../../core/types.js";
import { evaluateRun, type EvaluateOptions } from "../evaluate.js";
import { mergeReranked, summarizeLatencies, type FirstStage } from "../experiment.js";
import type { Qrels } from "../readers/qrels.js";
import type { Run } from "../run.js";

export interface SweepOptions extends EvaluateOptions {
  queries: readonly Query[];
  qrels: Qrels;
  firstStage: FirstStage;
  reranker: Reranker;
  /** Candidate counts to try, e.g. [10, 20, 50, 100, 200]. */
  candidates: readonly number[];
  /** End-to-end p95 (first stage + rerank) a recommendation must fit. */
  budgetMs?: number;
  /** nDCG@10 within this of the best counts as "as good" (default 0.005). */
  tolerance?: number;
  onQuery?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Milliseconds clock for the latency columns (default performance.now); tests pass a virtual one. */
  clock?: () => number;
}

export interface SweepRow {
  candidates: number;
  ndcg10: number;
  mrr: number;
  /** First-stage recall at this depth: the ceiling no reranker can pass. */
  recall: number;
  rerankP50Ms: number;
  rerankP95Ms: number;
  rerankMeanMs: number;
  /** p95 of first stage + rerank per query. */
  endToEndP95Ms: number;
  fitsBudget: boolean;
}

export interface SweepQueryLift {
  query: string;
  firstStage: number;
  reranked: number;
  delta: number;
}

export interface SweepReport {
  reranker: string;
  numQueries: number;
  budgetMs?: number;
  tolerance: number;
  firstStage: { ndcg10: number; mrr: number; searchP50Ms: number; searchP95Ms: number };
  rows: SweepRow[];
  /** Smallest count within `tolerance` nDCG@10 of the best count that fits the budget. */
  recommendation: { candidates: number; reason: string } | null;
  /** Per-query nDCG@10 of the recommended (else best) count against the first stage. */
  perQuery: { candidates: number; queries: SweepQueryLift[] };
}

function checkCandidates(list: readonly number[]): number[] {
  if (!Array.isArray(list) || list.length === 0) throw new InvalidInputError("candidates must list at least one count", { field: "candidates" });
  for (const c of list) {
    if (!Number.isInteger(c) || c < 1 || c > 10_000) throw new InvalidInputError(`candidates must be integers in 1..10000, got ${String(c)}`, { field: "candidates" });
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

/**
 * The candidate-count sweep: for each count, rerank that many first-stage candidates
 * per query and measure quality (nDCG@10, MRR), the first stage's recall at that depth,
 * and rerank latency; then recommend the cheapest count that is as good as the best.
 */
export async function runSweep(options: SweepOptions): Promise<SweepReport> {
  const counts = checkCandidates(options.candidates);
  const tolerance = options.tolerance ?? 0.005;
  if (options.budgetMs !== undefined && !(options.budgetMs > 0)) {
    throw new InvalidInputError(`budgetMs must be > 0, got ${String(options.budgetMs)}`, { field: "budgetMs" });
  }
  const depth = counts[counts.length - 1];
  const evalOptions: EvaluateOptions = { relevanceLevel: options.relevanceLevel, complete: options.complete };
  const firstRun: Run = new Map();
  const runs = counts.map((): Run => new Map());
  const rerankMs = counts.map((): number[] => []);
  const e2eMs = counts.map((): number[] => []);
  const searchMs: number[] = [];
  const now = options.clock ?? (() => performance.now());
  // One untimed call first: model sessions allocate and JIT on their first run.
  const warm = options.queries[0];
  if (warm) {
    const hits = await options.firstStage.search(warm, Math.min(depth, 10));
    if (hits.length > 0) await options.reranker.rerank(warm, hits, { returnDocuments: false });
  }
  for (const [n, query] of options.queries.entries()) {
    throwIfAborted(options.signal);
    const qid = query.id ?? String(n);
    const t0 = now();
    const hits = await options.firstStage.search(query, depth);
    const search = now() - t0;
    searchMs.push(search);
    firstRun.set(qid, hits.map((c) => ({ docId: c.document.id, score: c.score })));
    for (const [ci, c] of counts.entries()) {
      const top = hits.slice(0, c);
      const t1 = now();
      const results = top.length > 0 ? await options.reranker.rerank(query, top, { returnDocuments: false, signal: options.signal }) : [];
      const ms = now() - t1;
      rerankMs[ci].push(ms);
      e2eMs[ci].push(search + ms);
      runs[ci].set(qid, mergeReranked(qid, top, results, hits.slice(c)));
    }
    options.onQuery?.(n + 1, options.queries.length);
  }

  const recallMetrics = counts.map((c) => `recall_${c}`);
  const first = evaluateRun(options.qrels, firstRun, ["ndcg_cut_10", "recip_rank", ...recallMetrics], evalOptions);
  const evaluations = runs.map((run) => evaluateRun(options.qrels, run, ["ndcg_cut_10", "recip_rank"], evalOptions));
  const rows: SweepRow[] = counts.map((c, ci) => {
    const r = summarizeLatencies(rerankMs[ci]);
    const e2e = summarizeLatencies(e2eMs[ci]).p95Ms;
    return {
      candidates: c,
      ndcg10: evaluations[ci].metrics.ndcg_cut_10,
      mrr: evaluations[ci].metrics.recip_rank,
      recall: first.metrics[`recall_${c}`],
      rerankP50Ms: r.p50Ms,
      rerankP95Ms: r.p95Ms,
      rerankMeanMs: r.meanMs,
      endToEndP95Ms: e2e,
      fitsBudget: options.budgetMs === undefined || e2e <= options.budgetMs,
    };
  });
  const recommendation = recommend(rows, tolerance, options.budgetMs);
  const liftIndex = recommendation
    ? counts.indexOf(recommendation.candidates)
    : rows.reduce((best, r, i) => (r.ndcg10 > rows[best].ndcg10 ? i : best), 0);
  const queries: SweepQueryLift[] = [];
  for (const [qid, after] of evaluations[liftIndex].perQuery) {
    const before = first.perQuery.get(qid)?.ndcg_cut_10 ?? 0;
    queries.push({ query: qid, firstStage: before, reranked: after.ndcg_cut_10, delta: after.ndcg_cut_10 - before });
  }
  const s = summarizeLatencies(searchMs);
  return {
    reranker: options.reranker.name,
    numQueries: first.numQueries,
    budgetMs: options.budgetMs,
    tolerance,
    firstStage: { ndcg10: first.metrics.ndcg_cut_10, mrr: first.metrics.recip_rank, searchP50Ms: s.p50Ms, searchP95Ms: s.p95Ms },
    rows,
    recommendation,
    perQuery: { candidates: counts[liftIndex], queries },
  };
}

/** Exported for tests: the recommendation rule on its own. */
export function recommend(rows: readonly SweepRow[], tolerance: number, budgetMs?: number): SweepReport["recommendation"] {
  const fitting = rows.filter((r) => r.fitsBudget);
  if (fitting.length === 0) return null;
  const bestOverall = Math.max(...rows.map((r) => r.ndcg10));
  const best = Math.max(...fitting.map((r) => r.ndcg10));
  const pick = fitting.filter((r) => r.ndcg10 >= best - tolerance).sort((a, b) => a.candidates - b.candidates)[0];
  const bestRow = fitting.find((r) => r.ndcg10 === best)!;
  let reason =
    pick.candidates === bestRow.candidates
      ? `${pick.candidates} candidates give the best nDCG@10 (${pick.ndcg10.toFixed(4)})`
      : `${pick.candidates} candidates reach nDCG@10 ${pick.ndcg10.toFixed(4)}, within ${tolerance} of the best (${best.toFixed(4)} at ${bestRow.candidates})`;
  if (budgetMs !== undefined) {
    reason += `, p95 ${pick.endToEndP95Ms.toFixed(1)} ms within the ${budgetMs} ms budget`;
    if (bestOverall > best + 1e-12) reason += `; the budget costs ${(bestOverall - best).toFixed(4)} nDCG@10 against the best count overall`;
  }
  return { candidates: pick.candidates, reason };
}
