import { InvalidInputError, throwIfAborted } from "../../core/errors.js";
import type { Query, Reranker } from "../../core/types.js";
import { evaluateRun, type EvaluateOptions, type EvaluationResult } from "../evaluate.js";
import { inTrecOrder, mergeReranked, summarizeLatencies, type FirstStage } from "../experiment.js";
import { parseMetric } from "../metrics.js";
import { pairedQueries } from "../paired-queries.js";
import { perQueryView, type PerQueryView } from "../per-query-view.js";
import type { Qrels } from "../readers/qrels.js";
import type { Run } from "../run.js";
import { pairedRandomizationTest } from "../significance.js";
import { holmAdjusted } from "./holm-bonferroni.js";
import { recommend, type SweepRecommendation } from "./recommendation.js";

export { holmAdjusted } from "./holm-bonferroni.js";
export { recommend, RECALL_RULE_OF_THUMB, type RecommendableRow, type SweepRecommendation, type RecommendOptions } from "./recommendation.js";

export interface SweepOptions extends EvaluateOptions {
  queries: readonly Query[];
  qrels: Qrels;
  firstStage: FirstStage;
  /** One reranker, or several compared on the same queries and candidates (one curve each). */
  reranker?: Reranker;
  rerankers?: readonly Reranker[];
  /** Candidate counts to try, e.g. [10, 20, 50, 100, 200]. */
  candidates: readonly number[];
  /** The measure the recommendation maximizes, as trec_eval names it (default ndcg_cut_10). */
  metric?: string;
  /** Significance level a row must reach against the first stage to be recommended (default 0.05). */
  alpha?: number;
  /** End-to-end p95 (first stage + rerank) a recommendation must fit. */
  budgetMs?: number;
  /** Rows within this of the best value of the metric count as "as good" (default 0.005). */
  tolerance?: number;
  /** Seed and sign flips of the randomization test (defaults as `winnow eval` and `compare`). */
  seed?: number;
  trials?: number;
  onQuery?: (done: number, total: number) => void;
  signal?: AbortSignal;
  /** Milliseconds clock for the latency columns (default performance.now); tests pass a virtual one. */
  clock?: () => number;
}

/** One reranker at one candidate count. */
export interface SweepRow {
  /** The reranker's label (its name; `name#2`… when two share one). */
  reranker: string;
  candidates: number;
  /**
   * trec_eval measures of the reranked run: ndcg_cut_10, the chosen metric, recip_rank,
   * recall_10, and recall_<candidates>, the first stage's recall at that depth (the
   * ceiling no reranker can pass: reranking the top c never changes which documents are in it).
   */
  metrics: Record<string, number>;
  /** End-to-end (first stage + rerank) latency per query. */
  p50Ms: number;
  p95Ms: number;
  /** The rerank call alone. */
  rerankP50Ms: number;
  rerankP95Ms: number;
  rerankMeanMs: number;
  /** Two-sided paired randomization test of the chosen metric against the first stage. */
  pValue: number;
  /**
   * pValue corrected for the number of rows compared (Holm–Bonferroni over every row of
   * the sweep): what the recommendation tests against alpha.
   */
  pValueAdjusted: number;
  /** metrics[metric] − the first stage's. */
  delta: number;
  fitsBudget: boolean;
}

export interface SweepReport {
  /** The measure the recommendation maximizes. */
  metric: string;
  alpha: number;
  tolerance: number;
  budgetMs?: number;
  /** Labels of the rerankers swept, in the order given. */
  rerankers: string[];
  numQueries: number;
  /** "No reranking": the first stage alone, with its search latency. */
  firstStage: { metrics: Record<string, number>; p50Ms: number; p95Ms: number; fitsBudget: boolean };
  /** Every reranker × candidate count, rerankers in the order given, counts ascending. */
  rows: SweepRow[];
  /** Never null: "don't rerank" is { reranker: null, candidates: 0 }. */
  recommendation: SweepRecommendation;
  /**
   * Per query, both top-10 lists with judged grades, for the recommended row (or, when the
   * recommendation is not to rerank, the row with the best metric: why it does not pay).
   */
  perQuery: PerQueryView & { reranker: string; candidates: number };
}

function checkCandidates(list: readonly number[]): number[] {
  if (!Array.isArray(list) || list.length === 0) throw new InvalidInputError("candidates must list at least one count", { field: "candidates" });
  for (const c of list) {
    if (!Number.isInteger(c) || c < 1 || c > 10_000) throw new InvalidInputError(`candidates must be integers in 1..10000, got ${String(c)}`, { field: "candidates" });
  }
  return [...new Set(list)].sort((a, b) => a - b);
}

function rerankersOf(options: SweepOptions): { reranker: Reranker; label: string }[] {
  const list = [...(options.reranker ? [options.reranker] : []), ...(options.rerankers ?? [])];
  if (list.length === 0) throw new InvalidInputError("a sweep needs a reranker (reranker or rerankers)", { field: "rerankers" });
  const seen = new Map<string, number>();
  return list.map((reranker) => {
    const n = (seen.get(reranker.name) ?? 0) + 1;
    seen.set(reranker.name, n);
    return { reranker, label: n === 1 ? reranker.name : `${reranker.name}#${n}` };
  });
}

/** A short excerpt of a document for the per-query view. */
function excerptOf(doc: { title?: string; text: string }): string {
  const text = doc.title ? `${doc.title}. ${doc.text}` : doc.text;
  return text.length > 140 ? `${text.slice(0, 139)}…` : text;
}

/**
 * The candidate-count sweep: for each reranker and count, rerank that many first-stage
 * candidates per query and measure quality, the first stage's recall at that depth, the
 * latency, and the significance of the difference from the first stage alone; then
 * recommend the cheapest setting as good as the best, or no reranking when none beats
 * the first stage significantly (recommendation.ts).
 */
export async function runSweep(options: SweepOptions): Promise<SweepReport> {
  const counts = checkCandidates(options.candidates);
  const rerankers = rerankersOf(options);
  const metric = parseMetric(options.metric ?? "ndcg_cut_10").name;
  const alpha = options.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new InvalidInputError(`alpha must be in (0, 1), got ${String(options.alpha)}`, { field: "alpha" });
  const tolerance = options.tolerance ?? 0.005;
  if (!(tolerance >= 0 && tolerance < 1)) throw new InvalidInputError(`tolerance must be in [0, 1), got ${String(options.tolerance)}`, { field: "tolerance" });
  if (options.budgetMs !== undefined && !(options.budgetMs > 0)) {
    throw new InvalidInputError(`budgetMs must be > 0, got ${String(options.budgetMs)}`, { field: "budgetMs" });
  }
  const depth = counts[counts.length - 1];
  const evalOptions: EvaluateOptions = { relevanceLevel: options.relevanceLevel, complete: options.complete };
  const firstRun: Run = new Map();
  // runs[r][ci]: reranker r at count ci
  const runs = rerankers.map(() => counts.map((): Run => new Map()));
  const rerankMs = rerankers.map(() => counts.map((): number[] => []));
  const e2eMs = rerankers.map(() => counts.map((): number[] => []));
  const searchMs: number[] = [];
  const excerpts = new Map<string, string>();
  const queryTexts = new Map<string, string>();
  const now = options.clock ?? (() => performance.now());
  // One untimed call per reranker first: model sessions allocate and JIT on their first run.
  const warm = options.queries[0];
  if (warm) {
    const hits = await options.firstStage.search(warm, Math.min(depth, 10));
    for (const { reranker } of rerankers) if (hits.length > 0) await reranker.rerank(warm, hits, { returnDocuments: false });
  }
  for (const [n, query] of options.queries.entries()) {
    throwIfAborted(options.signal);
    const qid = query.id ?? String(n);
    queryTexts.set(qid, query.text);
    const t0 = now();
    const found = await options.firstStage.search(query, depth);
    const search = now() - t0;
    searchMs.push(search);
    const hits = inTrecOrder(found);
    firstRun.set(qid, hits.map((c) => ({ docId: c.document.id, score: c.score })));
    for (const c of hits) if (!excerpts.has(c.document.id)) excerpts.set(c.document.id, excerptOf(c.document));
    for (const [ri, { reranker }] of rerankers.entries()) {
      for (const [ci, c] of counts.entries()) {
        const top = hits.slice(0, c);
        const t1 = now();
        const results = top.length > 0 ? await reranker.rerank(query, top, { returnDocuments: false, signal: options.signal }) : [];
        const ms = now() - t1;
        rerankMs[ri][ci].push(ms);
        e2eMs[ri][ci].push(search + ms);
        runs[ri][ci].set(qid, mergeReranked(qid, top, results, hits.slice(c)));
      }
    }
    options.onQuery?.(n + 1, options.queries.length);
  }

  const base = [...new Set(["ndcg_cut_10", metric, "recip_rank", "recall_10"])];
  const first = evaluateRun(options.qrels, firstRun, [...base, ...counts.map((c) => `recall_${c}`)], evalOptions);
  const s = summarizeLatencies(searchMs);
  const fits = (p95: number) => options.budgetMs === undefined || p95 <= options.budgetMs;
  const rows: SweepRow[] = [];
  const evaluations: EvaluationResult[] = [];
  for (const [ri, { label }] of rerankers.entries()) {
    for (const [ci, c] of counts.entries()) {
      const evaluation = evaluateRun(options.qrels, runs[ri][ci], [...base, `recall_${c}`], evalOptions);
      evaluations.push(evaluation);
      const r = summarizeLatencies(rerankMs[ri][ci]);
      const e2e = summarizeLatencies(e2eMs[ri][ci]);
      const diffs = pairedQueries(first, evaluation, metric).map((q) => q.delta);
      rows.push({
        reranker: label,
        candidates: c,
        metrics: evaluation.metrics,
        p50Ms: e2e.p50Ms,
        p95Ms: e2e.p95Ms,
        rerankP50Ms: r.p50Ms,
        rerankP95Ms: r.p95Ms,
        rerankMeanMs: r.meanMs,
        pValue: pairedRandomizationTest(diffs, { seed: options.seed, trials: options.trials }),
        pValueAdjusted: NaN, // over all rows, below
        delta: evaluation.metrics[metric] - first.metrics[metric],
        fitsBudget: fits(e2e.p95Ms),
      });
    }
  }
  holmAdjusted(rows.map((r) => r.pValue)).forEach((q, i) => (rows[i].pValueAdjusted = q));
  const firstStage = { metrics: first.metrics, p50Ms: s.p50Ms, p95Ms: s.p95Ms, fitsBudget: fits(s.p95Ms) };
  const recommendation = recommend(rows, firstStage, { metric, alpha, tolerance, budgetMs: options.budgetMs });
  let shown = rows.findIndex((r) => r.reranker === recommendation.reranker && r.candidates === recommendation.candidates);
  if (shown < 0) shown = rows.reduce((best, r, i) => (r.metrics[metric] > rows[best].metrics[metric] ? i : best), 0);
  const shownRow = rows[shown];
  const [ri, ci] = [Math.floor(shown / counts.length), shown % counts.length];
  const view = perQueryView(options.qrels, firstRun, runs[ri][ci], first, evaluations[shown], {
    metric,
    before: "first stage",
    after: `${shownRow.reranker}@${shownRow.candidates}`,
    queryTexts,
    excerpts,
  });
  return {
    metric,
    alpha,
    tolerance,
    budgetMs: options.budgetMs,
    rerankers: rerankers.map((r) => r.label),
    numQueries: first.numQueries,
    firstStage,
    rows,
    recommendation,
    perQuery: { ...view, reranker: shownRow.reranker, candidates: shownRow.candidates },
  };
}
