import { describe, expect, it } from "vitest";
import type { Candidate, Query } from "../../../src/core/types.js";
import { holmAdjusted, recommend, runSweep, type RecommendableRow } from "../../../src/eval/sweep/sweep.js";
import { ScriptedReranker } from "../../support/fake-retrieval.js";

/**
 * A synthetic collection where the answers are known: each query has one relevant
 * document, placed by the first stage at a chosen rank; the reranker recognises
 * relevant documents perfectly. So nDCG@10 at depth c is the share of queries whose
 * relevant document sits within the first c.
 */
const placements = [1, 3, 8, 15, 40, 120, 2, 25];
const queries: Query[] = placements.map((_, i) => ({ id: `q${i}`, text: `query ${i}` }));
const qrels = new Map(placements.map((_, i) => [`q${i}`, new Map([[`rel${i}`, 1]])]));
const firstStage = {
  search(q: Query, k: number): Candidate[] {
    const i = Number(q.id!.slice(1));
    const list: Candidate[] = [];
    for (let r = 1; r <= 200; r++) {
      const id = r === placements[i] ? `rel${i}` : `q${i}-d${r}`;
      list.push({ document: { id, text: id }, score: 1000 - r, rank: r });
    }
    return list.slice(0, k);
  },
};
const oracle = () => new ScriptedReranker("oracle", (d) => (d.id.startsWith("rel") ? 1 : 0));

/** Puts the relevant document last among the candidates it gets. */
const reversed = () => new ScriptedReranker("reversed", (d) => (d.id.startsWith("rel") ? -1 : 0));

describe("runSweep", () => {
  it("measures quality, the recall ceiling, latency and the p-value against the first stage per candidate count", async () => {
    // α 0.1: with 8 queries and 4 rows compared, Holm's correction needs it (see the next test).
    const report = await runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [50, 10, 20, 200], alpha: 0.1 });
    expect(report.metric).toBe("ndcg_cut_10");
    expect(report.alpha).toBe(0.1);
    expect(report.rows.map((r) => [r.reranker, r.candidates])).toEqual([["oracle", 10], ["oracle", 20], ["oracle", 50], ["oracle", 200]]);
    // relevant within depth: 10 → ranks 1,3,8,2 = 4/8; 20 → +15 = 5/8; 50 → +40,25 = 7/8; 200 → 8/8
    expect(report.rows.map((r) => r.metrics[`recall_${r.candidates}`])).toEqual([0.5, 0.625, 0.875, 1]);
    expect(report.firstStage.metrics.recall_10).toBe(0.5);
    // the oracle puts every reachable relevant document first: nDCG@10 = recall at depth ≥ 10;
    // MRR also counts the unreached ones at their first-stage rank below the reranked top
    const unreached = (c: number) => placements.filter((p) => p > c).reduce((s, p) => s + 1 / p, 0) / placements.length;
    for (const r of report.rows) {
      expect(r.metrics.ndcg_cut_10).toBeCloseTo(r.metrics[`recall_${r.candidates}`], 12);
      expect(r.metrics.recip_rank).toBeCloseTo(r.metrics[`recall_${r.candidates}`] + unreached(r.candidates), 12);
      expect(r.delta).toBeCloseTo(r.metrics.ndcg_cut_10 - report.firstStage.metrics.ndcg_cut_10, 12);
      expect(r.rerankP95Ms).toBeGreaterThanOrEqual(r.rerankP50Ms);
      expect(r.p95Ms).toBeGreaterThanOrEqual(r.rerankP95Ms);
      expect(r.fitsBudget).toBe(true);
    }
    // 10 candidates help 3 of 8 queries (ranks 3, 8, 2): two-sided exact p = 2/8, not significant;
    // 200 help 7 of 8: p = 2/128
    expect(report.rows[0].pValue).toBeGreaterThan(0.2);
    expect(report.rows[3].pValue).toBeLessThan(0.03);
    // first stage: relevant at ranks 1,3,8,15,40,120,2,25 → MRR = mean of 1/rank
    expect(report.firstStage.metrics.recip_rank).toBeCloseTo(placements.reduce((s, r) => s + 1 / r, 0) / 8, 12);
    expect(report.recommendation).toMatchObject({ reranker: "oracle", candidates: 200 });
    expect(report.recommendation.metrics).toBe(report.rows[3].metrics);
    expect(report.recommendation.reason).toMatch(/^rerank 200 candidates with oracle: ndcg_cut_10 1\.0000 against 0\.\d{4} .*p=0\.\d{4}, Holm-adjusted over 4 rows 0\.0\d{3} < α=0\.1.*no latency budget/);
    expect(report.perQuery).toMatchObject({ reranker: "oracle", candidates: 200, metric: "ndcg_cut_10", k: 10 });
    const q5 = report.perQuery.queries.find((q) => q.query === "q5")!;
    expect(q5).toMatchObject({ query: "q5", text: "query 5", before: 0, after: 1, delta: 1 });
    expect(q5.firstStage).toHaveLength(10);
    expect(q5.firstStage.every((d) => d.grade === null)).toBe(true);
    expect(q5.reranked[0]).toEqual({ id: "rel5", grade: 1, excerpt: "rel5" });
    // most helped first
    const deltas = report.perQuery.queries.map((q) => q.delta);
    expect(deltas).toEqual([...deltas].sort((a, b) => b - a));
  });

  it("corrects the significance test for the number of rows compared (Holm–Bonferroni)", async () => {
    const report = await runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [10, 20, 50, 200] });
    const p = report.rows.map((r) => r.pValue);
    const adjusted = report.rows.map((r) => r.pValueAdjusted);
    // 200 candidates help 7 of 8 queries: p = 2/128 alone, but 4 rows were compared: 4 × p > 0.05
    expect(p[3]).toBeLessThan(0.05);
    expect(adjusted[3]).toBeCloseTo(4 * p[3], 12);
    expect(adjusted[3]).toBeGreaterThan(0.05);
    // step-down: the i-th smallest p times (m − i + 1), non-decreasing in p's order, capped at 1
    const order = [0, 1, 2, 3].sort((a, b) => p[a] - p[b]);
    order.forEach((i, rank) => {
      expect(adjusted[i]).toBeGreaterThanOrEqual(Math.min(1, (4 - rank) * p[i]) - 1e-12);
      if (rank > 0) expect(adjusted[i]).toBeGreaterThanOrEqual(adjusted[order[rank - 1]]);
      expect(adjusted[i]).toBeLessThanOrEqual(1);
    });
    expect(report.recommendation).toMatchObject({ reranker: null, candidates: 0 });
    expect(report.recommendation.reason).toMatch(/^don't rerank: .*significantly \(α=0\.05, Holm–Bonferroni over 4 rows; no latency budget\); the best, oracle@200, gains \+0\.\d{4} with p=0\.0\d{3}, Holm-adjusted over 4 rows 0\.0\d{3}/);
    // one row alone is its own family: no correction
    const one = await runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [200] });
    expect(one.rows[0].pValueAdjusted).toBe(one.rows[0].pValue);
    expect(one.recommendation).toMatchObject({ reranker: "oracle", candidates: 200 });
    expect(one.recommendation.reason).not.toContain("Holm");
  });

  it("recommends not reranking when the reranker makes things worse, with the first stage's measures", async () => {
    const report = await runSweep({ queries, qrels, firstStage, reranker: reversed(), candidates: [10, 50] });
    expect(report.rows.every((r) => r.delta < 0)).toBe(true);
    expect(report.recommendation.reranker).toBeNull();
    expect(report.recommendation.candidates).toBe(0);
    expect(report.recommendation.metrics).toEqual(report.firstStage.metrics);
    expect(report.recommendation.reason).toMatch(/^don't rerank: no reranker and candidate count beats the first stage on ndcg_cut_10 significantly \(α=0\.05, Holm–Bonferroni over 2 rows; no latency budget\); every setting is worse/);
    // the per-query view shows the best of the losing settings: why it does not pay
    expect(report.perQuery.candidates).toBe(10);
    expect(report.perQuery.queries.at(-1)!.delta).toBeLessThan(0);
  });

  it("recommends not reranking when the gain is not significant at alpha, and names the recall rule of thumb", async () => {
    const report = await runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [10] });
    expect(report.rows[0].delta).toBeGreaterThan(0);
    expect(report.rows[0].pValue).toBeGreaterThan(0.05);
    expect(report.recommendation).toMatchObject({ reranker: null, candidates: 0 });
    expect(report.recommendation.reason).toMatch(/the best, oracle@10, gains \+0\.\d{4} with p=0\.\d{4}/);
    // a looser alpha lets the same row through
    const loose = await runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [10], alpha: 0.3 });
    expect(loose.recommendation).toMatchObject({ reranker: "oracle", candidates: 10 });
  });

  it("sweeps several rerankers on the same queries and recommends across them", async () => {
    // α 0.3: 8 queries and 6 rows compared (Holm: the best p ≈ 2/64 times 6)
    const report = await runSweep({ queries, qrels, firstStage, rerankers: [reversed(), oracle(), oracle()], candidates: [20, 50], alpha: 0.3 });
    expect(report.rerankers).toEqual(["reversed", "oracle", "oracle#2"]);
    expect(report.rows.map((r) => `${r.reranker}@${r.candidates}`)).toEqual(["reversed@20", "reversed@50", "oracle@20", "oracle@50", "oracle#2@20", "oracle#2@50"]);
    expect(report.recommendation.reranker).toMatch(/^oracle/);
    expect(report.recommendation.candidates).toBe(50);
  });

  it("with a budget, recommends the cheapest setting that fits, as good as the best that fits", async () => {
    // A virtual clock: 0.5 ms per reranked candidate, so 200 candidates cost 100 ms per query
    // and 50 cost 25 ms against the 60 ms budget, whatever else the machine is doing.
    let virtualMs = 0;
    const oracleScores = oracle();
    const slow = {
      name: "slow-oracle",
      async rerank(...args: Parameters<ScriptedReranker["rerank"]>) {
        virtualMs += 0.5 * args[1].length;
        return oracleScores.rerank(...args);
      },
    };
    const report = await runSweep({ queries, qrels, firstStage, reranker: slow, candidates: [50, 200], budgetMs: 60, clock: () => virtualMs });
    expect(report.rows.map((r) => r.rerankP95Ms)).toEqual([25, 100]);
    expect(report.rows.map((r) => r.fitsBudget), JSON.stringify(report.rows)).toEqual([true, false]);
    expect(report.recommendation.candidates).toBe(50);
    expect(report.recommendation.reason).toMatch(/p95 25\.0 ms within the 60 ms budget; the budget costs 0\.\d{4} ndcg_cut_10/);
  });

  it("rejects bad options naming the field", async () => {
    await expect(runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [] })).rejects.toThrow(/at least one count/);
    await expect(runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [0, 10] })).rejects.toThrow(/integers in 1\.\.10000/);
    await expect(runSweep({ queries, qrels, firstStage, candidates: [10] })).rejects.toMatchObject({ details: { field: "rerankers" } });
    await expect(runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [10], alpha: 1 })).rejects.toMatchObject({ details: { field: "alpha" } });
    await expect(runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [10], metric: "ndcg_at_10" })).rejects.toMatchObject({ details: { field: "metrics" } });
  });
});

describe("recommend", () => {
  const first = { metrics: { ndcg_cut_10: 0.6, recall_10: 0.7, map: 0.5 }, p95Ms: 1, fitsBudget: true };
  const row = (candidates: number, ndcg: number, p95: number, extra: Partial<RecommendableRow> = {}): RecommendableRow => ({
    reranker: "r", candidates, metrics: { ndcg_cut_10: ndcg, recall_10: 0.75, map: 0.5 }, p95Ms: p95, pValue: 0.001, fitsBudget: true, ...extra,
  });
  const options = { metric: "ndcg_cut_10", alpha: 0.05, tolerance: 0.005 };
  it("takes the cheapest setting within the tolerance of the best significant one", () => {
    const rows = [row(10, 0.62, 5), row(20, 0.652, 10), row(50, 0.656, 25), row(100, 0.655, 50)];
    expect(recommend(rows, first, options).candidates).toBe(20);
    expect(recommend(rows, first, { ...options, tolerance: 0.001 }).candidates).toBe(50);
    // a cheaper reranker as good as the best wins across rerankers
    expect(recommend([...rows, row(50, 0.655, 3, { reranker: "fast" })], first, options)).toMatchObject({ reranker: "fast", candidates: 50 });
  });
  it("skips rows that are not significant, over budget, or lower nDCG@10 on another metric", () => {
    expect(recommend([row(20, 0.7, 10, { pValue: 0.2 })], first, options).reranker).toBeNull();
    const over = recommend([row(20, 0.7, 90, { fitsBudget: false })], first, { ...options, budgetMs: 20 });
    expect(over.reranker).toBeNull();
    expect(over.reason).toMatch(/r@20 would \(\+0\.1000, p=0\.0010\) but its p95 90\.0 ms is over the budget/);
    expect(over.reason).toContain("budget p95 ≤ 20 ms");
    const byMap = recommend([row(20, 0.59, 10, { metrics: { ndcg_cut_10: 0.59, recall_10: 0.7, map: 0.6 } })], first, { ...options, metric: "map" });
    expect(byMap.reranker).toBeNull();
    expect(byMap.reason).toContain("lowers nDCG@10");
  });
  it("says when recall@10 moves by less than 2%", () => {
    const small = recommend([row(50, 0.65, 10, { metrics: { ndcg_cut_10: 0.65, recall_10: 0.71 } })], first, options);
    expect(small.reranker).toBe("r");
    expect(small.reason).toMatch(/r@50 moves recall@10 by \+1\.4% \(under 2%/);
    expect(recommend([row(50, 0.65, 10)], first, options).reason).not.toContain("recall@10");
  });
  it("tests each row against alpha after Holm–Bonferroni over the rows given", () => {
    // three rows at p 0.03: each significant alone, none once three are compared (3 × 0.03)
    const three = [row(20, 0.65, 10, { pValue: 0.03 }), row(50, 0.66, 20, { pValue: 0.03 }), row(100, 0.66, 30, { pValue: 0.03 })];
    expect(recommend(three.slice(0, 1), first, options).candidates).toBe(20);
    const rec = recommend(three, first, options);
    expect(rec.reranker).toBeNull();
    expect(rec.reason).toContain("Holm–Bonferroni over 3 rows");
    expect(rec.reason).toMatch(/p=0\.0300, Holm-adjusted over 3 rows 0\.0900/);
    // step-down: 0.01 × 2 = 0.02 and 0.04 × 1 both pass, the better row wins
    const two = recommend([row(20, 0.65, 10, { pValue: 0.04 }), row(50, 0.67, 20, { pValue: 0.01 })], first, options);
    expect(two.candidates).toBe(50);
    expect(two.reason).toMatch(/p=0\.0100, Holm-adjusted over 2 rows 0\.0200 < α=0\.05/);
  });
  it("never recommends below the first stage's nDCG@10", () => {
    for (const d of [-0.1, -0.001, 0, 0.001, 0.1]) {
      const rec = recommend([row(20, 0.6 + d, 10)], first, options);
      expect(rec.metrics.ndcg_cut_10).toBeGreaterThanOrEqual(first.metrics.ndcg_cut_10);
    }
  });
});

describe("holmAdjusted", () => {
  it("multiplies the i-th smallest p by m − i + 1, keeps the order non-decreasing and caps at 1", () => {
    const adjusted = holmAdjusted([0.01, 0.04, 0.03, 0.005]);
    // sorted: 0.005·4 = 0.02, 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → raised to 0.06
    [0.03, 0.06, 0.06, 0.02].forEach((v, i) => expect(adjusted[i]).toBeCloseTo(v, 12));
    expect(holmAdjusted([0.5, 0.6])).toEqual([1, 1]);
    expect(holmAdjusted([0.2])).toEqual([0.2]);
    expect(holmAdjusted([])).toEqual([]);
    // a missing p stays missing and still counts in the family
    const withNaN = holmAdjusted([0.01, NaN]);
    expect(withNaN[0]).toBeCloseTo(0.02, 12);
    expect(withNaN[1]).toBeNaN();
  });
});
