import { describe, expect, it } from "vitest";
import type { Candidate, Query } from "../../../src/core/types.js";
import { recommend, runSweep, type SweepRow } from "../../../src/eval/sweep/sweep.js";
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

describe("runSweep", () => {
  it("measures quality, the recall ceiling and latency per candidate count", async () => {
    const report = await runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [50, 10, 20, 200] });
    expect(report.rows.map((r) => r.candidates)).toEqual([10, 20, 50, 200]);
    // relevant within depth: 10 → ranks 1,3,8,2 = 4/8; 20 → +15 = 5/8; 50 → +40,25 = 7/8; 200 → 8/8
    expect(report.rows.map((r) => r.recall)).toEqual([0.5, 0.625, 0.875, 1]);
    // the oracle puts every reachable relevant document first: nDCG@10 = recall at depth ≥ 10;
    // MRR also counts the unreached ones at their first-stage rank below the reranked top
    const unreached = (c: number) => placements.filter((p) => p > c).reduce((s, p) => s + 1 / p, 0) / placements.length;
    for (const r of report.rows) {
      expect(r.ndcg10).toBeCloseTo(r.recall, 12);
      expect(r.mrr).toBeCloseTo(r.recall + unreached(r.candidates), 12);
      expect(r.rerankP95Ms).toBeGreaterThanOrEqual(r.rerankP50Ms);
      expect(r.fitsBudget).toBe(true);
    }
    // first stage: relevant at ranks 1,3,8,15,40,120,2,25 → MRR = mean of 1/rank
    expect(report.firstStage.mrr).toBeCloseTo([1, 3, 8, 15, 40, 120, 2, 25].reduce((s, r) => s + 1 / r, 0) / 8, 12);
    expect(report.recommendation?.candidates).toBe(200);
    expect(report.perQuery.candidates).toBe(200);
    const q5 = report.perQuery.queries.find((q) => q.query === "q5")!;
    expect(q5).toEqual({ query: "q5", firstStage: 0, reranked: 1, delta: 1 });
  });

  it("with a budget, recommends the smallest count that fits, as good as the best that fits", async () => {
    // A virtual clock: 0.5 ms per reranked candidate, so 200 candidates cost 100 ms per query
    // and 10 cost 5 ms against the 60 ms budget, whatever else the machine is doing.
    let virtualMs = 0;
    const oracleScores = oracle();
    const slow = {
      name: "slow-oracle",
      async rerank(...args: Parameters<ScriptedReranker["rerank"]>) {
        virtualMs += 0.5 * args[1].length;
        return oracleScores.rerank(...args);
      },
    };
    const few = queries.slice(0, 4);
    const report = await runSweep({ queries: few, qrels: new Map(few.map((q) => [q.id!, qrels.get(q.id!)!])), firstStage, reranker: slow, candidates: [10, 200], budgetMs: 60, clock: () => virtualMs });
    expect(report.rows.map((r) => r.rerankP95Ms)).toEqual([5, 100]);
    expect(report.rows.map((r) => r.fitsBudget), JSON.stringify(report.rows)).toEqual([true, false]);
    expect(report.recommendation?.candidates).toBe(10);
    expect(report.recommendation?.reason).toMatch(/budget costs 0\.\d{4} nDCG@10/);
  });

  it("rejects bad candidate lists", async () => {
    await expect(runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [] })).rejects.toThrow(/at least one count/);
    await expect(runSweep({ queries, qrels, firstStage, reranker: oracle(), candidates: [0, 10] })).rejects.toThrow(/integers in 1\.\.10000/);
  });
});

describe("recommend", () => {
  const row = (candidates: number, ndcg10: number, p95: number, budget = Infinity): SweepRow => ({
    candidates, ndcg10, mrr: 0, recall: 0, rerankP50Ms: p95, rerankP95Ms: p95, rerankMeanMs: p95, endToEndP95Ms: p95, fitsBudget: p95 <= budget,
  });
  it("takes the smallest count within the tolerance of the best", () => {
    const rows = [row(10, 0.6, 5), row(20, 0.652, 10), row(50, 0.656, 25), row(100, 0.655, 50)];
    expect(recommend(rows, 0.005)?.candidates).toBe(20);
    expect(recommend(rows, 0.001)?.candidates).toBe(50);
  });
  it("answers null when nothing fits the budget", () => {
    expect(recommend([row(10, 0.6, 50, 20), row(20, 0.7, 90, 20)], 0.005, 20)).toBeNull();
  });
});
