import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Candidate, Document, QueryInput, RankedResult, Reranker } from "../../src/core/types.js";
import { mergeReranked, runExperiment, summarizeLatencies } from "../../src/eval/experiment.js";
import { loadBeirDataset, readCorpus, type BeirDataset } from "../../src/eval/readers/beir.js";
import { Bm25Index } from "../../src/retrieval/bm25/bm25-index.js";
import { repoRoot } from "../support/shared-datasets.js";

const cand = (id: string, score: number, rank: number): Candidate => ({ document: { id, text: id }, score, rank });

/** Scores each candidate by its judged grade: the best a reranker could do. Tests the plumbing, not a model. */
function oracleReranker(ds: BeirDataset): Reranker {
  return {
    name: "oracle",
    async rerank(query: QueryInput, candidates: readonly (string | Document | Candidate)[]): Promise<RankedResult[]> {
      const qid = typeof query === "string" ? "" : (query.id ?? "");
      const judged = ds.qrels.get(qid);
      const scored = candidates.map((c, index) => {
        const id = (c as Candidate).document.id;
        // Candidates arrive as first-stage Candidates, keeping the BM25 score.
        return { index, id, score: (judged?.get(id) ?? 0) * 100 + (c as Candidate).score };
      });
      return scored.sort((a, b) => b.score - a.score);
    },
  };
}

describe("runExperiment", () => {
  let ds: BeirDataset;
  let index: Bm25Index;
  beforeAll(async () => {
    const dir = join(repoRoot, "examples/scifact-mini");
    ds = await loadBeirDataset(dir, "test");
    index = await Bm25Index.build(readCorpus(dir));
  });

  it("evaluates BM25 alone over every judged query with timings", async () => {
    const report = await runExperiment({ queries: ds.queries, qrels: ds.qrels, firstStage: index, depth: 100, metrics: ["ndcg_cut_10", "recall_100"] });
    expect(report.numQueries).toBe(ds.queries.length);
    expect(report.metrics.ndcg_cut_10).toBeGreaterThan(0.3);
    expect(report.metrics.ndcg_cut_10).toBeLessThan(1);
    expect(report.firstStage).toBeUndefined();
    expect(report.timings.search.queries).toBe(ds.queries.length);
    expect(report.timings.search.p95Ms).toBeGreaterThanOrEqual(report.timings.search.p50Ms);
    expect(report.runs.final.get(ds.queries[0].id!)!.length).toBeLessThanOrEqual(100);
  });

  it("reranks the top candidates, keeps the first-stage tail, and reports lift", async () => {
    const report = await runExperiment({
      queries: ds.queries,
      qrels: ds.qrels,
      firstStage: index,
      depth: 100,
      candidates: 20,
      reranker: oracleReranker(ds),
      metrics: ["ndcg_cut_10", "recall_20", "recall_100"],
    });
    const lift = report.lift!;
    // An oracle over the top 20 cannot lose on any query and cannot change recall at 20 or 100.
    expect(lift.metrics.ndcg_cut_10.losses).toBe(0);
    expect(lift.metrics.ndcg_cut_10.wins).toBeGreaterThan(0);
    expect(lift.metrics.ndcg_cut_10.delta).toBeGreaterThan(0);
    expect(report.metrics.recall_20).toBeCloseTo(report.firstStage!.recall_20, 12);
    expect(report.metrics.recall_100).toBeCloseTo(report.firstStage!.recall_100, 12);
    expect(lift.topK.orderChanged).toBeGreaterThan(0);
    expect(report.timings.rerank!.candidatesPerSecond).toBeGreaterThan(0);
    // Final run = 20 reranked + the first stage's documents 21..100 in their order.
    const qid = ds.queries[0].id!;
    const first = report.runs.firstStage.get(qid)!;
    const final = report.runs.final.get(qid)!;
    expect(final.map((e) => e.docId).slice(20)).toEqual(first.map((e) => e.docId).slice(20));
    expect(new Set(final.slice(0, 20).map((e) => e.docId))).toEqual(new Set(first.slice(0, 20).map((e) => e.docId)));
  });

  it("rejects more candidates than depth", async () => {
    await expect(
      runExperiment({ queries: ds.queries, qrels: ds.qrels, firstStage: index, depth: 10, candidates: 20, reranker: oracleReranker(ds) }),
    ).rejects.toThrow(/candidates \(20\) must not exceed depth \(10\)/);
  });
});

describe("mergeReranked", () => {
  it("puts dropped candidates and the tail below the lowest reranker score, in first-stage order", () => {
    const top = [cand("a", 9, 1), cand("b", 8, 2), cand("c", 7, 3)];
    const tail = [cand("d", 6, 4), cand("e", 5, 5)];
    // The reranker returned c then a, dropping b.
    const merged = mergeReranked("q", top, [{ index: 2, score: -3 }, { index: 0, score: -4.5 }], tail);
    expect(merged).toEqual([
      { docId: "c", score: -3 },
      { docId: "a", score: -4.5 },
      { docId: "b", score: -5.5 },
      { docId: "d", score: -6.5 },
      { docId: "e", score: -7.5 },
    ]);
    expect(() => mergeReranked("q", top, [{ index: 5, score: 1 }], [])).toThrow(/invalid or repeated index 5/);
    expect(() => mergeReranked("q", top, [{ index: 0, score: Number.NaN }], [])).toThrow(/non-finite score for query "q" document "a"/);
  });

  it("summarizes latencies with nearest-rank percentiles", () => {
    const s = summarizeLatencies([5, 1, 4, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
    expect(s).toEqual({ totalMs: 210, meanMs: 10.5, p50Ms: 10, p95Ms: 19 });
  });
});
