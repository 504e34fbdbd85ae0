import { describe, expect, it } from "vitest";
import { MemoryScoreCache } from "../../src/cache/memory-score-cache.js";
import { toCandidates } from "../../src/core/inputs.js";
import { rankByScores } from "../../src/core/ranking.js";
import { RerankerBase, type ScoringCall, type ScoringKind, type ScoringOutcome } from "../../src/core/reranker-base.js";
import type { CandidateInput, QueryInput, RankedResult, Reranker, RerankOptions } from "../../src/core/types.js";
import { createPipeline } from "../../src/pipeline/pipeline.js";
import { docs, FixedRetriever, ScriptedReranker } from "../support/fake-retrieval.js";

/** A family on the base that scores by the number in the id and counts what it scored. */
class IdFamily extends RerankerBase {
  readonly name = "id-family";
  scored = 0;
  constructor(readonly scoring: ScoringKind) {
    super();
  }
  protected override cacheIdentity(): string {
    return "id-family/v1";
  }
  protected async score(call: ScoringCall): Promise<ScoringOutcome> {
    this.scored += call.candidates.length;
    return { scores: call.candidates.map((c) => Number(c.document.id.slice(1))) };
  }
}

describe("pipeline score cache", () => {
  it("a pipeline with a cache reranks repeated queries from the cache", async () => {
    const corpus = docs(10);
    const inner = new ScriptedReranker("ce", (d) => Number(d.id.slice(1)));
    const p = createPipeline({
      retrievers: [{ name: "bm25", retriever: new FixedRetriever("bm25", corpus.map((doc, i) => ({ doc, score: 10 - i }))), k: 10 }],
      stages: [{ reranker: inner, topK: 10 }],
      cache: new MemoryScoreCache(),
    });
    const r1 = await p.search("q");
    const r2 = await p.search("q");
    expect(inner.scoredTexts).toHaveLength(10);
    expect(r2.results.map((h) => h.id)).toEqual(r1.results.map((h) => h.id));
    expect(p.cache?.stats().hits).toBe(10);
  });

  it("under a latency budget, takes cached scores before spending any: a repeated query is reranked at least as far", async () => {
    const corpus = docs(20);
    // Every call costs 400 ms, more than the whole 300 ms budget: only the first batch of the
    // first search fits (nothing is predicted yet), and no later batch ever will.
    const slow: Reranker & { calls: number } = {
      name: "slow",
      calls: 0,
      async rerank(_q: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
        this.calls++;
        await new Promise((r) => setTimeout(r, 400));
        const cands = toCandidates(candidates);
        return rankByScores(cands, cands.map((c) => Number(c.document.id.slice(1))), options);
      },
    };
    const p = createPipeline({
      retrievers: [{ name: "bm25", retriever: new FixedRetriever("bm25", corpus.map((doc, i) => ({ doc, score: 20 - i }))), k: 20 }],
      stages: [{ reranker: slow, topK: 20, batchSize: 8 }],
      topN: 10,
      budgetMs: 300,
      cache: new MemoryScoreCache(),
    });
    const first = await p.search("q");
    expect(first.reranked).toBe(8);
    expect(first.budget).toEqual({ ms: 300, exhausted: true });
    for (let i = 0; i < 2; i++) {
      const again = await p.search("q");
      expect(again.reranked).toBe(8);
      expect(again.results.map((h) => [h.id, h.score, h.reranked])).toEqual(first.results.map((h) => [h.id, h.score, h.reranked]));
    }
    // The cached 8 never reached the model again, and the budget kept the misses away from it.
    expect(slow.calls).toBe(1);
    expect(p.cache?.stats().hits).toBe(16);
  });

  it("a family stage uses the pipeline's cache through its own keys; a listwise one never does", async () => {
    const corpus = docs(10);
    const retrievers = [{ name: "bm25", retriever: new FixedRetriever("bm25", corpus.map((doc, i) => ({ doc, score: 10 - i }))), k: 10 }];
    for (const [scoring, expectScored, expectHits] of [["pointwise", 10, 10], ["listwise", 20, 0]] as const) {
      const family = new IdFamily(scoring);
      const p = createPipeline({ retrievers, stages: [{ reranker: family, topK: 10 }], cache: new MemoryScoreCache() });
      const r1 = await p.search("q");
      const r2 = await p.search("q");
      expect(r2.results.map((h) => [h.id, h.score])).toEqual(r1.results.map((h) => [h.id, h.score]));
      expect(r1.results[0].id).toBe("d9");
      expect(family.scored).toBe(expectScored);
      expect(p.cache?.stats().hits).toBe(expectHits);
    }
  });
});
