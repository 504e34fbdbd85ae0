import { describe, expect, it } from "vitest";
import type { Document } from "../../../src/core/types.js";
import { evaluateRun } from "../../../src/eval/evaluate.js";
import { loadBeirDataset, readCorpus } from "../../../src/eval/readers/beir.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { DEFAULT_RM3_PARAMS, Rm3Retriever, feedbackTermVector, rm3ExpandQuery, rm3RelevanceModel } from "../../../src/retrieval/bm25/rm3.js";
import { checkRetrieverSpec, createRetriever } from "../../../src/retrieval/registry.js";
import { caught } from "../../support/caught.js";
import { sharedDataset } from "../../support/shared-datasets.js";

/** `n` filler documents that share no term with anything else, so document frequencies are set by the test. */
function filler(n: number): Document[] {
  return Array.from({ length: n }, (_, i) => ({ id: `f${String(i).padStart(2, "0")}`, text: `filler${i}` }));
}

const sum = (xs: Iterable<number>) => [...xs].reduce((a, b) => a + b, 0);

describe("RM3 feedback vectors (Anserini's term filter)", () => {
  it("keeps terms of 2–20 characters matching [a-z0-9]+ with df ≤ 10% of the documents, counting tf", async () => {
    // 20 documents: `common` is in 3 (15%, dropped), `pair` in 2 (exactly 10%, kept).
    const docs: Document[] = [
      { id: "a", text: "zeta zeta zeta x 3.14 123456789012345678901 12345678901234567890 common pair" },
      { id: "b", text: "common pair" },
      { id: "c", text: "common" },
      ...filler(17),
    ];
    const index = await Bm25Index.build(docs);
    expect(index.size).toBe(20);
    const v = feedbackTermVector(index, index.docIndex("a")!);
    // x: 1 character; 3.14: not [a-z0-9]+; the 21-digit number: 21 characters; common: df 3/20.
    expect(Object.fromEntries(v)).toEqual({ zeta: 3, "12345678901234567890": 1, pair: 1 });
    for (const t of ["x", "3.14", "123456789012345678901", "common"]) expect(index.termId(t), t).toBeDefined();
  });
});

describe("RM3 relevance model (Rm3Reranker.estimateRelevanceModel)", () => {
  it("prunes each feedback document to fbTerms before mixing (ties by term), then prunes and scales the mix to unit L1", async () => {
    // Alone, `gamma` is third in each document and pruned at fbTerms 2; mixed unpruned it would be
    // second (3/12·2 + 3/12·1 = 0.75 against beta's 4/12·2).
    const docs: Document[] = [
      { id: "A", text: "alpha alpha alpha alpha alpha beta beta beta beta gamma gamma gamma" },
      { id: "B", text: "delta delta delta delta delta epsilon epsilon epsilon epsilon gamma gamma gamma" },
      ...filler(20),
    ];
    const index = await Bm25Index.build(docs);
    const fb = [
      { docIndex: index.docIndex("A")!, score: 2 },
      { docIndex: index.docIndex("B")!, score: 1 },
    ];
    const model = rm3RelevanceModel(index, fb, { fbTerms: 2 });
    // Per document tf / L1 of its pruned vector, times its score: alpha 5/9·2, beta 4/9·2, delta 5/9,
    // epsilon 4/9; the mix pruned to its 2 largest and scaled to unit L1.
    expect([...model.keys()].sort()).toEqual(["alpha", "beta"]);
    expect(model.get("alpha")).toBeCloseTo(10 / 18, 6);
    expect(model.get("beta")).toBeCloseTo(8 / 18, 6);
    expect(sum(model.values())).toBeCloseTo(1, 6);
    // At fbTerms 3 each document keeps gamma, and the mix ranks it second: alpha 10/12, gamma 9/12, beta 8/12.
    const three = rm3RelevanceModel(index, fb, { fbTerms: 3 });
    expect([...three.keys()]).toEqual(["alpha", "gamma", "beta"]);
    expect(three.get("gamma")).toBeCloseTo(9 / 27, 6);

    // Equal weights in the mix go to the smaller term.
    const tie = rm3RelevanceModel(index, [fb[0], { ...fb[1], score: 2 }], { fbTerms: 1 });
    expect(Object.fromEntries(tie)).toEqual({ alpha: 1 });
    // Ties inside one document's vector: equal tf keeps the smaller term.
    const flat = await Bm25Index.build([{ id: "t", text: "pear kiwi fig plum" }, ...filler(20)]);
    expect([...rm3RelevanceModel(flat, [{ docIndex: 0, score: 1 }], { fbTerms: 2 }).keys()].sort()).toEqual(["fig", "kiwi"]);
  });

  it("uses only the first fbDocs feedback documents and skips one whose every term was filtered", async () => {
    const docs: Document[] = [
      { id: "A", text: "alpha beta" },
      { id: "B", text: "x y z" }, // single letters only: an empty feedback vector
      { id: "C", text: "delta" },
      ...filler(20),
    ];
    const index = await Bm25Index.build(docs);
    const fb = ["A", "B", "C"].map((id) => ({ docIndex: index.docIndex(id)!, score: 1 }));
    expect([...rm3RelevanceModel(index, fb, { fbDocs: 2 }).keys()].sort()).toEqual(["alpha", "beta"]);
    const all = rm3RelevanceModel(index, fb, { fbDocs: 3 });
    expect([...all.keys()].sort()).toEqual(["alpha", "beta", "delta"]);
    expect(all.get("delta")).toBeCloseTo(0.5, 6); // 1 / (0.5 + 0.5 + 1)
    expect(Object.values(Object.fromEntries(all)).every(Number.isFinite)).toBe(true);
  });
});

describe("RM3 expanded query (FeatureVector.interpolate)", () => {
  it("mixes the unit-L1 query (repeats add, unknown terms keep their share) with the model; weights sum to 1", async () => {
    const docs: Document[] = [{ id: "A", text: "apple orchard harvest harvest" }, ...filler(20)];
    const index = await Bm25Index.build(docs);
    const fb = [{ docIndex: 0, score: 3 }];
    // Query "apple apple zebra" analyzed: appl ×2, zebra (not in the index).
    const expanded = rm3ExpandQuery(index, ["appl", "appl", "zebra"], fb);
    const w = Object.fromEntries(expanded.map((t) => [t.term, t.weight]));
    // Model: harvest 2/4, appl 1/4, orchard 1/4.
    expect(w.appl).toBeCloseTo(0.5 * (2 / 3) + 0.5 * 0.25, 6);
    expect(w.zebra).toBeCloseTo(0.5 * (1 / 3), 6);
    expect(w.harvest).toBeCloseTo(0.5 * 0.5, 6);
    expect(w.orchard).toBeCloseTo(0.5 * 0.25, 6);
    expect(sum(expanded.map((t) => t.weight))).toBeCloseTo(1, 6);
    // Largest weight first.
    expect(expanded.map((t) => t.term)).toEqual(["appl", "harvest", "zebra", "orchard"]);

    const queryOnly = Object.fromEntries(rm3ExpandQuery(index, ["appl"], fb, { originalQueryWeight: 1 }).map((t) => [t.term, t.weight]));
    expect(queryOnly).toEqual({ appl: 1, harvest: 0, orchard: 0 });
    const modelOnly = Object.fromEntries(rm3ExpandQuery(index, ["appl"], fb, { originalQueryWeight: 0 }).map((t) => [t.term, t.weight]));
    expect(modelOnly).toEqual({ harvest: 0.5, appl: 0.25, orchard: 0.25 });
  });

  it("refuses bad parameters by name", async () => {
    const index = await Bm25Index.build([{ id: "a", text: "alpha" }]);
    for (const [params, field] of [
      [{ fbDocs: 0 }, "fbDocs"],
      [{ fbTerms: 2.5 }, "fbTerms"],
      [{ originalQueryWeight: 1.5 }, "originalQueryWeight"],
      [{ originalQueryWeight: Number.NaN }, "originalQueryWeight"],
    ] as const) {
      expect(() => rm3ExpandQuery(index, ["alpha"], [], params), field).toThrow(expect.objectContaining({ code: "INVALID_INPUT", details: expect.objectContaining({ field }) }));
      expect(() => new Rm3Retriever(index, params)).toThrow(expect.objectContaining({ details: expect.objectContaining({ field }) }));
    }
  });
});

describe("Bm25Index.searchWeighted", () => {
  const docs: Document[] = [
    { id: "d1", text: "apple banana apple" },
    { id: "d2", text: "banana cherry" },
    { id: "d3", title: "Cherry", text: "cherry cherry date" },
    { id: "d4", text: "banana cherry" },
  ];

  it("scores like search when the weights are the query's term counts, with the same ties (smaller id first)", async () => {
    const index = await Bm25Index.build(docs);
    const plain = await index.search("banana banana cherry", 10);
    const weighted = await index.searchWeighted([{ term: "banana", weight: 2 }, { term: "cherri", weight: 1 }], 10);
    expect(weighted).toEqual(plain);
    // d2 and d4 are identical documents: tied, d2 first.
    expect(weighted.map((h) => h.document.id).indexOf("d2")).toBe(weighted.map((h) => h.document.id).indexOf("d4") - 1);
    expect(weighted[weighted.findIndex((h) => h.document.id === "d2")].score).toBe(weighted[weighted.findIndex((h) => h.document.id === "d4")].score);
  });

  it("scales each term's BM25 by its boost, sums a repeated term's boosts, ignores unknown terms, filters and cuts at k", async () => {
    const index = await Bm25Index.build(docs);
    const base = await index.searchWeighted([{ term: "date", weight: 1 }], 10);
    const half = await index.searchWeighted([{ term: "date", weight: 0.25 }, { term: "date", weight: 0.25 }, { term: "nosuchterm", weight: 5 }], 10);
    expect(half.map((h) => h.document.id)).toEqual(["d3"]);
    expect(half[0].score).toBeCloseTo(base[0].score / 2, 6);
    expect(await index.searchWeighted([{ term: "cherri", weight: 1 }], 1)).toHaveLength(1);
    expect(await index.searchWeighted([], 5)).toEqual([]);
  });

  it("refuses bad terms, weights and k by field", async () => {
    const index = await Bm25Index.build(docs);
    const field = async (p: Promise<unknown>) => ((await caught(p)) as { details?: { field?: string } }).details?.field;
    expect(await field(index.searchWeighted([{ term: "apple", weight: -1 }], 5))).toBe("terms[0].weight");
    expect(await field(index.searchWeighted([{ term: "apple", weight: 1 }, { term: "x", weight: Number.POSITIVE_INFINITY }], 5))).toBe("terms[1].weight");
    expect(await field(index.searchWeighted([{ term: 3 } as never], 5))).toBe("terms[0].term");
    expect(await field(index.searchWeighted("apple" as never, 5))).toBe("terms");
    expect(await field(index.searchWeighted([], 0))).toBe("k");
  });
});

describe("Rm3Retriever", () => {
  const docs: Document[] = [
    { id: "p1", text: "tides are caused by the moon's gravity acting on oceans" },
    { id: "p2", text: "the moon orbits the earth and its gravity raises ocean tides" },
    { id: "p3", text: "spring tides happen when sun and moon align" },
    { id: "p4", text: "ocean currents carry heat around the earth" },
    { id: "p5", text: "gravity waves were first detected in 2015" },
    ...filler(40),
  ];

  it("runs the BM25 feedback search, then the expanded query as a weighted query, labelled bm25-rm3", async () => {
    const index = await Bm25Index.build(docs);
    const rm3 = new Rm3Retriever(index, { fbDocs: 2 });
    expect(rm3.params).toEqual({ ...DEFAULT_RM3_PARAMS, fbDocs: 2 });
    const expanded = await rm3.expand("moon tides");
    const terms = expanded.map((t) => t.term);
    expect(terms).toEqual(expect.arrayContaining(["moon", "tide", "graviti", "ocean"]));
    expect(terms).not.toContain("filler1");
    const hits = await rm3.search("moon tides", 10);
    const direct = await index.searchWeighted(expanded, 10);
    expect(hits.map((h) => [h.document.id, h.score])).toEqual(direct.map((h) => [h.document.id, h.score]));
    expect(hits[0]).toMatchObject({ rank: 1, source: "bm25-rm3", scores: { "bm25-rm3": hits[0].score } });
    // Expansion reaches a document with none of the query's terms (p4: ocean, earth).
    expect((await index.search("moon tides", 10)).map((h) => h.document.id)).not.toContain("p4");
    expect(hits.map((h) => h.document.id)).toContain("p4");
    // A query of stop words only: no feedback, no expansion, no hits (as Lucene's empty query).
    expect(await rm3.expand("the of and")).toEqual([]);
    expect(await rm3.search("the of and", 10)).toEqual([]);
    // Feedback comes from fbDocs documents whatever k is: the top ranks do not depend on k.
    expect(await rm3.search("moon tides", 1)).toEqual(hits.slice(0, 1));
    // Per-search options override the retriever's.
    expect(await rm3.expand("moon tides", { fbTerms: 1, fbDocs: 1 })).toHaveLength(3);
    expect((await caught(rm3.search("moon", 0))).details?.field).toBe("k");
  });

  it("a metadata filter applies to the feedback run and the expanded run", async () => {
    const tagged = docs.map((d) => ({ ...d, metadata: { keep: d.id !== "p2" } }));
    const index = await Bm25Index.build(tagged);
    const rm3 = new Rm3Retriever(index);
    const hits = await rm3.search("moon tides", 10, { filter: { keep: true } });
    expect(hits.map((h) => h.document.id)).not.toContain("p2");
    const unfiltered = await rm3.expand("moon tides");
    const filtered = await rm3.expand("moon tides", { filter: { keep: true } });
    expect(filtered).not.toEqual(unfiltered);
  });

  it("is the bm25-rm3 registry row: Anserini's defaults filled in, bad fields named, the context's index searched", async () => {
    expect(checkRetrieverSpec({ type: "bm25-rm3" })).toEqual({ type: "bm25-rm3", fbDocs: 10, fbTerms: 10, originalQueryWeight: 0.5 });
    const field = (spec: Record<string, unknown>) => {
      try {
        checkRetrieverSpec(spec as never);
      } catch (err) {
        return (err as { details: { field: string } }).details.field;
      }
      return undefined;
    };
    expect(field({ type: "bm25-rm3", fbDocs: 0 })).toBe("fbDocs");
    expect(field({ type: "bm25-rm3", fbTerms: "10" })).toBe("fbTerms");
    expect(field({ type: "bm25-rm3", originalQueryWeight: -0.1 })).toBe("originalQueryWeight");
    expect(field({ type: "bm25-rm3", k1: -1 })).toBe("k1");
    expect(field({ type: "bm25-rm3", fbdocs: 5 })).toBe("fbdocs");

    const index = await Bm25Index.build(docs);
    const retriever = await createRetriever({ type: "bm25-rm3", fbDocs: 2, originalQueryWeight: 0.7 }, { index });
    expect(retriever.name).toBe("bm25-rm3");
    expect(retriever.corpusIndex).toBe(index);
    expect(retriever.describe?.()).toMatchObject({ type: "bm25-rm3", fbDocs: 2, fbTerms: 10, originalQueryWeight: 0.7, k1: 0.9, b: 0.4 });
    const expected = await new Rm3Retriever(index, { fbDocs: 2, originalQueryWeight: 0.7 }).search("moon tides", 5);
    expect(await retriever.search("moon tides", 5)).toEqual(expected);
  });
});

// Lucene 8 with Anserini's `-bm25 -rm3` defaults, trec_eval -c, nDCG@10 of the top 1000 (../shared/README.md).
const REFERENCE: Array<{ name: string; ndcg10: number; r100?: number; r1000?: number }> = [
  { name: "scifact", ndcg10: 0.6457, r100: 0.9147, r1000: 0.98 },
  { name: "cranfield", ndcg10: 0.3688 },
  { name: "cisi", ndcg10: 0.3879 },
  { name: "adi", ndcg10: 0.4499 },
];

for (const ref of REFERENCE) {
  const { dir, present, skipNote } = sharedDataset(ref.name);
  describe.skipIf(!present)(`BM25+RM3 on ${ref.name} test${skipNote}`, () => {
    it("matches the Lucene 8 / Anserini reference within ±0.005", async () => {
      const index = await Bm25Index.build(readCorpus(dir));
      const rm3 = new Rm3Retriever(index);
      const { queries, qrels } = await loadBeirDataset(dir, "test");
      const run = new Map<string, Array<{ docId: string; score: number }>>();
      for (const q of queries) run.set(q.id!, (await rm3.search(q, 1000)).map((h) => ({ docId: h.document.id, score: h.score })));
      const m = evaluateRun(qrels, run, ["ndcg_cut_10", "recall_100", "recall_1000"]).metrics;
      expect(Math.abs(m.ndcg_cut_10 - ref.ndcg10), `nDCG@10 ${m.ndcg_cut_10}`).toBeLessThanOrEqual(0.005);
      if (ref.r100 !== undefined) expect(Math.abs(m.recall_100 - ref.r100), `R@100 ${m.recall_100}`).toBeLessThanOrEqual(0.005);
      if (ref.r1000 !== undefined) expect(Math.abs(m.recall_1000 - ref.r1000), `R@1000 ${m.recall_1000}`).toBeLessThanOrEqual(0.005);
    });
  });
}

// Top-5 of the first three SciFact test queries from Lucene 8 itself (Debian liblucene8-java) with
// Anserini's RM3 (scripts/bm25/LuceneRm3Search.java, defaults): ids and float scores.
const LUCENE_RM3_SCIFACT_TOP5: Record<string, Array<[string, number]>> = {
  "1": [["18953920", 1.0737109], ["43385013", 1.0013256], ["6550579", 0.96408504], ["3848469", 0.8717099], ["34386619", 0.85046333]],
  "3": [["4414547", 1.4223121], ["19497526", 1.2773442], ["14717500", 1.2099816], ["13519661", 1.2028506], ["23389795", 1.155603]],
  "5": [["13734012", 1.9446639], ["18617259", 1.5924885], ["42240424", 1.5585096], ["17333231", 1.4825261], ["695938", 1.4584993]],
};

const scifact = sharedDataset("scifact");
describe.skipIf(!scifact.present)(`BM25+RM3 scores vs Lucene 8${scifact.skipNote}`, () => {
  it("returns Lucene's top-5 ids with bit-identical float32 scores", async () => {
    const index = await Bm25Index.build(readCorpus(scifact.dir));
    const rm3 = new Rm3Retriever(index);
    const { queries } = await loadBeirDataset(scifact.dir, "test");
    for (const [qid, expected] of Object.entries(LUCENE_RM3_SCIFACT_TOP5)) {
      const hits = await rm3.search(queries.find((q) => q.id === qid)!, 5);
      expect(hits.map((h) => [h.document.id, h.score])).toEqual(expected.map(([id, score]) => [id, Math.fround(score)]));
    }
  });
});
