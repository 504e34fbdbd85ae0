/**
 * The sweep's recommendation rule on its own: which reranker and candidate count to
 * use, or not to rerank at all. A row is eligible when it fits the budget, beats the
 * first stage on the chosen metric with a paired p-value below alpha once corrected for
 * the number of rows compared (Holm–Bonferroni over every row given: the family of
 * "beats the first stage" tests), and does not lower nDCG@10; among eligible rows, those within `tolerance` of the best value are
 * "as good", and the cheapest of them (lowest end-to-end p95, then fewest candidates)
 * wins. No eligible row: the first stage alone is the recommendation.
 */

import { holmAdjusted } from "./holm-bonferroni.js";

/** A relative move of recall@10 below this is, by a common rule of thumb, not worth reranking's cost. */
export const RECALL_RULE_OF_THUMB = 0.02;

export interface SweepRecommendation {
  /** null: don't rerank. */
  reranker: string | null;
  /** 0 for the first stage alone. */
  candidates: number;
  /** The recommended run's measures (the first stage's when not reranking). */
  metrics: Record<string, number>;
  /** One line: the metric, the budget and why. */
  reason: string;
}

/** The parts of a sweep row the rule reads. */
export interface RecommendableRow {
  reranker: string;
  candidates: number;
  metrics: Record<string, number>;
  p95Ms: number;
  pValue: number;
  fitsBudget: boolean;
}

export interface RecommendOptions {
  metric: string;
  alpha: number;
  tolerance: number;
  budgetMs?: number;
}

const signed = (x: number) => `${x >= 0 ? "+" : "−"}${Math.abs(x).toFixed(4)}`;
const p = (x: number) => (x < 0.0001 ? x.toExponential(1) : x.toFixed(4));
const ms = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));

/** "recall@10 moves by +1.2%" when the rule of thumb applies to this row, else undefined. */
function recallRule(row: RecommendableRow, first: Record<string, number>): string | undefined {
  const before = first.recall_10;
  const after = row.metrics.recall_10;
  // At 10 candidates or fewer the top 10 holds the same documents, whatever the order: the rule says nothing.
  if (before === undefined || after === undefined || row.candidates <= 10) return undefined;
  const move = before > 0 ? (after - before) / before : after - before;
  if (Math.abs(move) >= RECALL_RULE_OF_THUMB) return undefined;
  return `${row.reranker}@${row.candidates} moves recall@10 by ${move >= 0 ? "+" : "−"}${(100 * Math.abs(move)).toFixed(1)}% (under 2%: by a common rule of thumb, reranking is not worth its cost there)`;
}

export function recommend(
  rows: readonly RecommendableRow[],
  firstStage: { metrics: Record<string, number>; p95Ms: number; fitsBudget: boolean },
  options: RecommendOptions,
): SweepRecommendation {
  const { metric, alpha, tolerance, budgetMs } = options;
  const first = firstStage.metrics;
  const value = (r: RecommendableRow) => r.metrics[metric];
  const adjusted = new Map(holmAdjusted(rows.map((r) => r.pValue)).map((q, i) => [rows[i], q]));
  const adj = (r: RecommendableRow) => adjusted.get(r)!;
  // "p=0.0040, Holm-adjusted over 6 rows 0.0240": the raw p, and the one the rule tests.
  const pv = (r: RecommendableRow) => (rows.length > 1 ? `p=${p(r.pValue)}, Holm-adjusted over ${rows.length} rows ${p(adj(r))}` : `p=${p(r.pValue)}`);
  const budget = budgetMs === undefined ? "no latency budget" : `budget p95 ≤ ${budgetMs} ms`;
  const beats = (r: RecommendableRow) =>
    value(r) > first[metric] && adj(r) < alpha && r.metrics.ndcg_cut_10 >= first.ndcg_cut_10 - 1e-12;
  const eligible = rows.filter((r) => r.fitsBudget && beats(r));
  if (eligible.length === 0) {
    const parts = [`don't rerank: no reranker and candidate count beats the first stage on ${metric} significantly (α=${alpha}${rows.length > 1 ? `, Holm–Bonferroni over ${rows.length} rows` : ""}; ${budget})`];
    const best = rows.reduce<RecommendableRow | undefined>((b, r) => (b === undefined || value(r) > value(b) ? r : b), undefined);
    const significantOver = rows.filter((r) => !r.fitsBudget && beats(r)).sort((a, b) => value(b) - value(a))[0];
    if (significantOver) {
      parts.push(`${significantOver.reranker}@${significantOver.candidates} would (${signed(value(significantOver) - first[metric])}, ${pv(significantOver)}) but its p95 ${ms(significantOver.p95Ms)} ms is over the budget`);
    } else if (best) {
      const d = value(best) - first[metric];
      parts.push(
        d > 0
          ? `the best, ${best.reranker}@${best.candidates}, gains ${signed(d)} with ${pv(best)}${best.metrics.ndcg_cut_10 < first.ndcg_cut_10 && metric !== "ndcg_cut_10" ? " and lowers nDCG@10" : ""}`
          : `every setting is worse or no better (the best, ${best.reranker}@${best.candidates}: ${signed(d)}, ${pv(best)})`,
      );
      const rule = d > 0 ? recallRule(best, first) : undefined;
      if (rule) parts.push(rule);
    }
    if (!firstStage.fitsBudget) parts.push(`the first stage alone is over the budget too (p95 ${ms(firstStage.p95Ms)} ms)`);
    return { reranker: null, candidates: 0, metrics: first, reason: parts.join("; ") };
  }
  const best = Math.max(...eligible.map(value));
  const bestRow = eligible.find((r) => value(r) === best)!;
  const pick = eligible
    .filter((r) => value(r) >= best - tolerance)
    .sort((a, b) => a.p95Ms - b.p95Ms || a.candidates - b.candidates)[0];
  const parts = [
    `rerank ${pick.candidates} candidates with ${pick.reranker}: ${metric} ${value(pick).toFixed(4)} against ${first[metric].toFixed(4)} for the first stage alone (${signed(value(pick) - first[metric])}, ${pv(pick)} < α=${alpha})`,
  ];
  if (pick !== bestRow) parts.push(`within ${tolerance} of the best (${best.toFixed(4)}, ${bestRow.reranker}@${bestRow.candidates}) at a lower p95`);
  parts.push(budgetMs === undefined ? `p95 ${ms(pick.p95Ms)} ms (no latency budget)` : `p95 ${ms(pick.p95Ms)} ms within the ${budgetMs} ms budget`);
  if (budgetMs !== undefined) {
    const unbounded = rows.filter(beats).reduce((m, r) => Math.max(m, value(r)), -Infinity);
    if (unbounded > best + 1e-12) parts.push(`the budget costs ${(unbounded - best).toFixed(4)} ${metric} against the best setting overall`);
  }
  const rule = recallRule(pick, first);
  if (rule) parts.push(rule);
  return { reranker: pick.reranker, candidates: pick.candidates, metrics: pick.metrics, reason: parts.join("; ") };
}
