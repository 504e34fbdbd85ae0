import { describe, expect, it } from "vitest";
import { createPipeline, type PipelineOptions } from "../../src/pipeline/pipeline.js";
import { docs, FixedRetriever, ScriptedReranker } from "../support/fake-retrieval.js";

const corpus = docs(30, (i) => ({ year: 2000 + i, source: i % 2 === 0 ? "journal" : "blog" }));
// first stage: d0 best … d29 worst; the reranker prefers higher i (reverses the order)
const bm25 = () => new FixedRetriever("bm25", corpus.map((doc, i) => ({ doc, score: 30 - i })));
const byIndex = (doc: { id: string }) => Number(doc.id.slice(1));

describe("createPipeline", () => {
  it("reranks the first stage and reports per-stage timings", async () => {
    const rr = new ScriptedReranker("fast", (d) => byIndex(d));
    const p = createPipeline({ retrievers: [{ name: "bm25", retriever: bm25(), k: 20 }], stages: [{ reranker: rr, topK: 20 }], topN: 5 });
    const r = await p.search("q");
    expect(r.results.map((h) => h.id)).toEqual(["d19", "d18", "d17", "d16", "d15"]);
    expect(r.results[0]).toMatchObject({ reranked: true, firstStageRank: 20, scores: { bm25: 11, fast: 19 } });
    expect(r.candidates).toBe(20);
    expect(r.reranked).toBe(20);
    expect(r.stages).toEqual([expect.objectContaining({ name: "fast", candidates: 20, reranked: 20, dropped: 0 })]);
    expect(r.timings.retrieval.bm25).toBeGreaterThanOrEqual(0);
    expect(r.timings.total).toBeGreaterThanOrEqual(r.timings.stages.fast);
  });

  it("selective reranking: only the top M are scored, the rest follow in first-stage order", async () => {
    const rr = new ScriptedReranker("ce", (d) => byIndex(d));
    const p = createPipeline({ retrievers: [{ name: "bm25", retriever: bm25(), k: 10 }], stages: [{ reranker: rr, topK: 4 }], topN: 10 });
    const r = await p.search("q");
    expect(r.results.map((h) => h.id)).toEqual(["d3", "d2", "d1", "d0", "d4", "d5", "d6", "d7", "d8", "d9"]);
    expect(r.results.map((h) => h.reranked)).toEqual([true, true, true, true, false, false, false, false, false, false]);
    expect(rr.scoredTexts).toHaveLength(4);
  });

  it("cascade: the slow stage only sees the fast stage's best topK", async () => {
    const fast = new ScriptedReranker("fast", (d) => byIndex(d)); // best: d9, d8, d7 …
    const slow = new ScriptedReranker("slow", (d) => -Math.abs(byIndex(d) - 7)); // likes d7
    const p = createPipeline({
      retrievers: [{ name: "bm25", retriever: bm25(), k: 10 }],
      stages: [{ reranker: fast, topK: 10 }, { reranker: slow, topK: 3 }],
      topN: 5,
    });
    const r = await p.search("q");
    expect(slow.scoredTexts.sort()).toEqual(["document 7", "document 8", "document 9"]);
    expect(r.results.map((h) => h.id)).toEqual(["d7", "d8", "d9", "d6", "d5"]);
    expect(r.results[3]).toMatchObject({ reranked: false, scores: { fast: 6 } });
    expect(r.stages.map((s) => [s.name, s.reranked])).toEqual([["fast", 10], ["slow", 3]]);
  });

  it("threshold drops what a stage scored below it, never what it did not score", async () => {
    const rr = new ScriptedReranker("ce", (d) => byIndex(d) / 10);
    const p = createPipeline({ retrievers: [{ name: "bm25", retriever: bm25(), k: 8 }], stages: [{ reranker: rr, topK: 5, threshold: 0.25 }], topN: 10 });
    const r = await p.search("q");
    expect(r.results.map((h) => h.id)).toEqual(["d4", "d3", "d5", "d6", "d7"]);
    expect(r.stages[0].dropped).toBe(3);
  });

  it("fuses several pools (a filtered one and a plain one) with RRF before reranking", async () => {
    const dense = new FixedRetriever("dense", [...corpus].reverse().map((doc, i) => ({ doc, score: 1 - i / 100 })));
    const p = createPipeline({
      retrievers: [
        { name: "recent", retriever: dense, k: 3, filter: { year: { gte: 2025 } } },
        { name: "bm25", retriever: bm25(), k: 3 },
      ],
      fusion: { method: "rrf", k: 60 },
      topN: 10,
    });
    const r = await p.search("q");
    expect(r.candidates).toBe(6);
    expect(r.results.map((h) => h.id).sort()).toEqual(["d0", "d1", "d2", "d27", "d28", "d29"]);
    expect(r.results.find((h) => h.id === "d29")?.source).toBe("recent");
    expect(r.results[0].scores.rrf).toBeCloseTo(1 / 61, 12);
  });

  it("weighted fusion normalizes each pool and weights it", async () => {
    // pool a: d0 > d1 > d2; pool b (weight 3): d2 > d1 > d0 → b decides
    const a = new FixedRetriever("a", corpus.slice(0, 3).map((doc, i) => ({ doc, score: 30 - i })));
    const b = new FixedRetriever("b", corpus.slice(0, 3).reverse().map((doc, i) => ({ doc, score: 0.9 - i / 10 })));
    const r = await createPipeline({
      retrievers: [
        { name: "a", retriever: a, k: 3 },
        { name: "b", retriever: b, k: 3, weight: 3 },
      ],
      fusion: { method: "weighted", normalization: "min-max" },
    }).search("q");
    expect(r.results.map((h) => h.id)).toEqual(["d2", "d1", "d0"]);
    expect(r.results.map((h) => h.scores.fused)).toEqual([3, 2, 1].map((v) => expect.closeTo(v, 12)));
  });

  it("request filters apply to every pool, even a retriever that ignores them", async () => {
    // searches without passing the filter on, as a retriever without filter support would
    const leaky = { name: "leaky", search: async (_q: unknown, k: number) => bm25().search("q", k) };
    const p = createPipeline({ retrievers: [{ name: "leaky", retriever: leaky, k: 10 }], topN: 10 });
    const r = await p.search("q", { filter: { source: "blog" } });
    expect(r.results.map((h) => h.id)).toEqual(["d1", "d3", "d5", "d7", "d9"]);
  });

  it("weighted final scoring mixes the reranker score with first-stage scores and metadata", async () => {
    const rr = new ScriptedReranker("ce", (d) => byIndex(d)); // prefers d4 > d3 > … > d0
    const base: PipelineOptions = { retrievers: [{ name: "bm25", retriever: bm25(), k: 5 }], stages: [{ reranker: rr, topK: 5 }], topN: 5 };
    const onlyRerank = await createPipeline({ ...base, scoring: { weights: { rerank: 1 } } }).search("q");
    expect(onlyRerank.results.map((h) => h.id)).toEqual(["d4", "d3", "d2", "d1", "d0"]);
    // bm25 weighted 3x outweighs the reranker: first-stage order comes back
    const bm25Heavy = await createPipeline({ ...base, scoring: { weights: { rerank: 1, bm25: 3 } } }).search("q");
    expect(bm25Heavy.results.map((h) => h.id)).toEqual(["d0", "d1", "d2", "d3", "d4"]);
    expect(bm25Heavy.results[0].scores.final).toBeCloseTo(3, 12);
    // trust: journals (even ids) get +2 → d4, d2, d0 then d3, d1
    const trusted = await createPipeline({
      ...base,
      scoring: { weights: { rerank: 1 }, trust: { field: "source", weight: 2, values: { journal: 1, blog: 0 } } },
    }).search("q");
    expect(trusted.results.map((h) => h.id)).toEqual(["d4", "d2", "d0", "d3", "d1"]);
  });

  it("recency decays by half-life on a date field", async () => {
    const now = Date.now();
    const dated = [0, 400, 30].map((days, i) => ({ id: `n${i}`, text: "t", metadata: { published: new Date(now - days * 86_400_000).toISOString() } }));
    const retr = new FixedRetriever("bm25", dated.map((doc) => ({ doc, score: 1 })));
    const rr = new ScriptedReranker("ce", () => 0.5);
    const r = await createPipeline({
      retrievers: [{ name: "bm25", retriever: retr, k: 3 }],
      stages: [{ reranker: rr, topK: 3 }],
      scoring: { weights: {}, recency: { field: "published", halfLifeDays: 30, weight: 1 } },
    }).search("q");
    expect(r.results.map((h) => h.id)).toEqual(["n0", "n2", "n1"]);
    expect(r.results[1].score).toBeCloseTo(0.5, 3);
  });

  it("rejects bad configuration naming the field and limit", () => {
    const rr = new ScriptedReranker("ce", () => 0);
    const retrievers = [{ name: "bm25", retriever: bm25(), k: 5 }];
    expect(() => createPipeline({ retrievers: [] })).toThrow(/retrievers must list at least one pool/);
    expect(() => createPipeline({ retrievers: [{ name: "bm25", retriever: bm25(), k: 0 }] })).toThrow(/retrievers\[0\]\.k must be an integer in 1\.\.10000/);
    expect(() => createPipeline({ retrievers, stages: [{ reranker: rr, topK: -1 }] })).toThrow(/stages\[0\]\.topK/);
    expect(() => createPipeline({ retrievers, budgetMs: 0 })).toThrow(/budgetMs must be a number of milliseconds > 0/);
    expect(() => createPipeline({ retrievers, scoring: { weights: { rerank: Number.NaN } } })).toThrow(/scoring\.weights\.rerank/);
  });
});

describe("latency budget", () => {
  it("reranks in first-stage order batch by batch until the deadline; the rest keep first-stage order", async () => {
    // 4 ms per candidate, batches of 5 = 20 ms a batch; budget 50 ms allows about 2 batches
    const rr = new ScriptedReranker("slow", (d) => byIndex(d), 4);
    const p = createPipeline({
      retrievers: [{ name: "bm25", retriever: bm25(), k: 30 }],
      stages: [{ reranker: rr, topK: 30, batchSize: 5 }],
      topN: 30,
      budgetMs: 50,
    });
    const r = await p.search("q");
    expect(r.budget).toEqual({ ms: 50, exhausted: true });
    expect(r.reranked).toBeGreaterThanOrEqual(5);
    expect(r.reranked).toBeLessThan(30);
    expect(r.reranked % 5).toBe(0);
    // reranked ones first (best = highest index among those reached), then the first-stage order
    const reached = r.reranked;
    expect(r.results.slice(0, reached).every((h) => h.reranked)).toBe(true);
    expect(r.results[0].id).toBe(`d${reached - 1}`);
    expect(r.results.slice(reached).map((h) => h.id)).toEqual(corpus.slice(reached).map((d) => d.id));
    // the deadline holds within one batch (nominally 20 ms; measured, since a loaded
    // machine can stretch it) plus scheduling slack
    expect(r.timings.total).toBeLessThan(50 + Math.max(...rr.callMs) + 30);
  });

  it("a per-request budget overrides the pipeline's, and without one everything is reranked", async () => {
    const rr = new ScriptedReranker("slow", (d) => byIndex(d), 1);
    const p = createPipeline({ retrievers: [{ name: "bm25", retriever: bm25(), k: 20 }], stages: [{ reranker: rr, topK: 20, batchSize: 4 }], topN: 20 });
    const all = await p.search("q");
    expect(all.reranked).toBe(20);
    expect(all.budget).toBeUndefined();
    const cut = await p.search("q", { budgetMs: 6 });
    expect(cut.reranked).toBeLessThan(20);
    expect(cut.budget?.exhausted).toBe(true);
  });
});
