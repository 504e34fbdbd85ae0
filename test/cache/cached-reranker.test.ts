import { describe, expect, it } from "vitest";
import { CachedReranker } from "../../src/cache/cached-reranker.js";
import { MemoryScoreCache } from "../../src/cache/memory-score-cache.js";
import type { ScoreCache } from "../../src/core/score-cache.js";
import type { CandidateInput, QueryInput, RankedResult, Reranker, RerankOptions } from "../../src/core/types.js";
import { toCandidates } from "../../src/core/inputs.js";
import { rankByScores } from "../../src/core/ranking.js";
import { createPipeline } from "../../src/pipeline/pipeline.js";
import { docs, FixedRetriever, ScriptedReranker } from "../support/fake-retrieval.js";

const score = (d: { text: string }) => d.text.length;

describe("CachedReranker", () => {
  it("scores only the misses and returns the same ranking as the uncached reranker", async () => {
    const inner = new ScriptedReranker("len", score);
    const cache = new MemoryScoreCache();
    const cached = new CachedReranker(inner, cache);
    const input = [{ id: "a", text: "xx" }, { id: "b", text: "xxxx" }, { id: "c", text: "x" }];
    const first = await cached.rerank("q", input, { topN: 2 });
    expect(first.map((r) => [r.id, r.score, r.details?.cached])).toEqual([["b", 4, false], ["a", 2, false]]);
    expect(inner.scoredTexts).toHaveLength(3);

    const second = await cached.rerank("q", [...input, { id: "d", text: "xxx" }]);
    expect(second.map((r) => r.id)).toEqual(["b", "d", "a", "c"]);
    expect(second.find((r) => r.id === "d")?.details?.cached).toBe(false);
    expect(second.find((r) => r.id === "a")?.details?.cached).toBe(true);
    expect(inner.scoredTexts).toEqual(["xx", "xxxx", "x", "xxx"]);
    expect(cache.stats()).toMatchObject({ hits: 3, misses: 4 });
  });

  it("keys on settings, query, document id and content", async () => {
    const cache = new MemoryScoreCache();
    const a = new CachedReranker(new ScriptedReranker("m", score), cache, { settings: { type: "x", model: "a" } });
    const b = new CachedReranker(new ScriptedReranker("m", score), cache, { settings: { model: "a", type: "x" } });
    const c = new CachedReranker(new ScriptedReranker("m", score), cache, { settings: { type: "x", model: "b" } });
    const doc = { id: "1", text: "t" };
    const [k] = a.keys("q", [doc]);
    expect(b.keys("q", [doc])[0]).toBe(k); // key order of settings does not matter
    expect(c.keys("q", [doc])[0]).not.toBe(k);
    expect(a.keys("q2", [doc])[0]).not.toBe(k);
    expect(a.keys("q", [{ id: "2", text: "t" }])[0]).not.toBe(k);
    expect(a.keys("q", [{ id: "1", text: "t edited" }])[0]).not.toBe(k);
    expect(a.keys("q", [{ id: "1", text: "t", title: "T" }])[0]).not.toBe(k);
    expect(a.keys("q", [doc], "be strict")[0]).not.toBe(k);
  });

  it("a cache that throws never fails the rerank", async () => {
    const broken: ScoreCache = {
      kind: "broken",
      getMany: async () => {
        throw new Error("down");
      },
      setMany: async () => {
        throw new Error("down");
      },
      stats: () => ({ hits: 0, misses: 0, errors: 0 }),
    };
    const r = await new CachedReranker(new ScriptedReranker("len", score), broken).rerank("q", ["aaa", "a"]);
    expect(r.map((x) => x.score)).toEqual([3, 1]);
  });

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

  it("never stores a first-stage fallback or an unscored candidate as a score", async () => {
    let calls = 0;
    const flaky: Reranker = {
      name: "flaky",
      async rerank(_q: QueryInput, candidates: readonly CandidateInput[], options: RerankOptions = {}): Promise<RankedResult[]> {
        calls++;
        const cands = toCandidates(candidates);
        // Call 1: upstream down, first-stage order flagged degraded; call 2: "b" unscored; then real scores.
        if (calls === 1) return rankByScores(cands, cands.map((_, i) => -i), options, () => ({ degraded: true }));
        return rankByScores(cands, cands.map((c) => (calls === 2 && c.document.id === "b" ? Number.NaN : c.document.text.length)), options);
      },
    };
    const cached = new CachedReranker(flaky, new MemoryScoreCache());
    const input = [{ id: "a", text: "xx" }, { id: "b", text: "xxxx" }];
    expect((await cached.rerank("q", input))[0].details).toMatchObject({ degraded: true, cached: false });
    const second = await cached.rerank("q", input);
    expect(second.map((r) => [r.id, r.details?.cached])).toEqual([["a", false], ["b", false]]);
    const third = await cached.rerank("q", input);
    expect(third.map((r) => [r.id, r.score, r.details?.cached])).toEqual([["b", 4, false], ["a", 2, true]]);
    expect(calls).toBe(3);
  });
});
