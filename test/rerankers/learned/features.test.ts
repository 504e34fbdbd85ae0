import { describe, expect, it } from "vitest";
import { toCandidates } from "../../../src/core/inputs.js";
import type { Candidate, Document } from "../../../src/core/types.js";
import { candidateListView, indexCorpusView, type Bm25FeatureIndex, type TextAnalyzer } from "../../../src/rerankers/learned/corpus-view.js";
import { BUILTIN_FEATURES, DIRICHLET_MU_PER_AVG_LENGTH, FeatureExtractor, bm25Idf, dphPart } from "../../../src/rerankers/learned/features.js";
import { loadBeirDataset, readCorpus } from "../../../src/eval/readers/beir.js";
import { PACKAGE_ROOT } from "../../../src/rerankers/learned/default-model.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { Rm3Retriever } from "../../../src/retrieval/bm25/rm3.js";

const analyzer: TextAnalyzer = { analyze: (t) => t.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 0 && w !== "the") };

/** A minimal in-memory index satisfying the extractor's contract, to test the index path against the text path. */
function tinyIndex(docs: Document[]): Bm25FeatureIndex {
  const vocab = new Map<string, number>();
  const df: number[] = [];
  const stored = docs.map((d) => {
    const title = d.title ? analyzer.analyze(d.title) : [];
    const all = [...title, ...analyzer.analyze(d.text)];
    const ids = all.map((t) => {
      if (!vocab.has(t)) {
        vocab.set(t, vocab.size);
        df.push(0);
      }
      return vocab.get(t)!;
    });
    for (const id of new Set(ids)) df[id]++;
    return { terms: Uint32Array.from(ids), titleLength: title.length };
  });
  const total = stored.reduce((a, s) => a + s.terms.length, 0);
  return {
    analyzer,
    docCount: docs.length,
    avgDocLength: total / docs.length,
    termId: (t) => vocab.get(t),
    docFreq: (id) => df[id],
    docIndex: (id) => docs.findIndex((d) => d.id === id),
    document: (i) => docs[i],
    documentTerms: (i) => stored[i],
  };
}

const docs: Document[] = [
  { id: "a", title: "Solar wind", text: "the solar wind carries charged particles from the sun" },
  { id: "b", title: "Wind farms", text: "wind turbines convert wind into power; solar panels do not" },
  { id: "c", title: "Cooking", text: "a recipe for bread" },
  { id: "d", text: "particles of solar origin and the wind of particles" },
];
const asCandidates = (ds: Document[]): Candidate[] => ds.map((d, i) => ({ document: d, score: 10 - i, rank: i + 1 }));

describe("FeatureExtractor", () => {
  const all = new FeatureExtractor(BUILTIN_FEATURES);
  const F = BUILTIN_FEATURES.length;
  const get = (m: Float64Array, c: number, name: string) => m[c * F + BUILTIN_FEATURES.indexOf(name as never)];

  it("computes BM25, coverage, proximity, bigram and phrase features by their definitions", () => {
    const index = tinyIndex(docs);
    const m = all.extract(indexCorpusView(index), "solar wind", asCandidates(docs));
    // Hand-computed BM25 for doc a (title "solar wind" + its text terms, "the" removed).
    const len = 2 + analyzer.analyze(docs[0].text).length;
    const idfSolar = bm25Idf(4, 3);
    const idfWind = bm25Idf(4, 3);
    // Lengths under 24 are stored exactly by Lucene's norm, so the plain formula applies.
    expect(len).toBeLessThan(24);
    const part = (tf: number) => tf / (tf + 0.9 * (1 - 0.4 + (0.4 * len) / index.avgDocLength));
    expect(get(m, 0, "bm25")).toBeCloseTo(idfSolar * part(2) + idfWind * part(2), 10);
    expect(get(m, 0, "coverage")).toBe(1);
    expect(get(m, 2, "coverage")).toBe(0);
    expect(get(m, 2, "bm25")).toBe(0);
    expect(get(m, 0, "title_coverage")).toBe(1);
    // d has no title: missing, not "no query term in the title".
    expect(Number.isNaN(get(m, 3, "title_coverage"))).toBe(true);
    expect(Number.isNaN(get(m, 3, "bm25_title_ratio_max"))).toBe(true);
    expect(get(m, 2, "title_coverage")).toBe(0); // c has a title without the query terms
    expect(get(m, 2, "bm25_title_ratio_max")).toBe(0);
    // "solar wind" is adjacent in a (title and text) → proximity 2/2, bigram and phrase found.
    expect(get(m, 0, "proximity")).toBe(1);
    expect(get(m, 0, "bigram_fraction")).toBe(1);
    expect(get(m, 0, "phrase_match")).toBe(1);
    // b has "wind" and "solar" but never "solar wind": smallest window "wind; solar" is adjacent
    // in reverse order in the text ("wind solar" does not occur either) → no bigram.
    expect(get(m, 1, "bigram_fraction")).toBe(0);
    expect(get(m, 1, "phrase_match")).toBe(0);
    expect(get(m, 3, "proximity")).toBeCloseTo(2 / 4, 10); // "solar origin and wind" → window of 4 ("the" removed)
    expect(get(m, 0, "query_terms")).toBe(2);
    // Per-query normalizations.
    const maxBm25 = Math.max(...[0, 1, 2, 3].map((c) => get(m, c, "bm25")));
    expect(get(m, 1, "bm25_ratio_max")).toBeCloseTo(get(m, 1, "bm25") / maxBm25, 12);
    expect(get(m, 0, "first_stage_ratio_max")).toBe(1);
    expect(get(m, 3, "first_stage_rank")).toBe(4);
    expect(Number.isNaN(get(m, 2, "proximity"))).toBe(true);
  });

  it("gives the same features from stored index terms as from analyzing the text", () => {
    const index = tinyIndex(docs);
    const viaIndex = all.extract(indexCorpusView(index), "solar particles wind", asCandidates(docs));
    // Same texts under ids the index does not know: the extractor must analyze them with the same stats.
    const renamed = docs.map((d) => ({ ...d, id: `x-${d.id}` }));
    const viaText = all.extract(indexCorpusView(index), "solar particles wind", asCandidates(renamed));
    expect(Array.from(viaText)).toEqual(Array.from(viaIndex));
  });

  it("does not trust a colliding id whose text differs from the indexed document", () => {
    const index = tinyIndex(docs);
    const impostor = [{ document: { id: "c", text: "solar wind solar wind" }, score: 1, rank: 1 }];
    const m = all.extract(indexCorpusView(index), "solar wind", impostor);
    expect(get(m, 0, "coverage")).toBe(1); // the stored doc "c" (a bread recipe) would give 0
  });

  it("falls back to statistics of the candidate list", () => {
    const view = candidateListView(analyzer, toCandidates(docs));
    expect(view.docCount).toBe(4);
    expect(view.docFreqs(["solar", "bread", "nope"])).toEqual([3, 1, 0]);
    const m = all.extract(view, "bread recipe", toCandidates(docs));
    expect(get(m, 2, "coverage")).toBe(1);
    expect(get(m, 2, "bm25")).toBeGreaterThan(0);
  });

  it("reads earlier stages' scores as features and projects to the model's feature order", () => {
    const ex = new FeatureExtractor(["score:dense", "coverage"]);
    const cands: Candidate[] = [
      { document: docs[0], score: 1, rank: 1, scores: { dense: 0.8 } },
      { document: docs[2], score: 0.5, rank: 2 },
    ];
    const m = ex.extract(candidateListView(analyzer, cands), "solar", cands);
    expect(m[0]).toBeCloseTo(0.8);
    expect(m[1]).toBe(1);
    expect(Number.isNaN(m[2])).toBe(true);
    expect(m[3]).toBe(0);
  });

  it("gives missing (NaN) title features on a collection without titles, and defined ones where the title exists", () => {
    const untitled = docs.map((d) => ({ id: d.id, text: d.text }));
    const index = tinyIndex(untitled);
    const m = all.extract(indexCorpusView(index), "solar wind", asCandidates(untitled));
    for (let c = 0; c < untitled.length; c++) {
      expect(Number.isNaN(get(m, c, "title_coverage"))).toBe(true);
      expect(Number.isNaN(get(m, c, "bm25_title_ratio_max"))).toBe(true);
    }
    const titled = all.extract(indexCorpusView(tinyIndex(docs)), "solar wind", asCandidates(docs));
    expect(get(titled, 0, "bm25_title_ratio_max")).toBe(1);
  });

  it("computes Dirichlet query likelihood relative to the best candidate, as hand-computed", () => {
    const index = tinyIndex(docs);
    const view = indexCorpusView(index);
    const m = all.extract(view, "solar wind", asCandidates(docs));
    // Collection counts over the four documents (titles included, "the" removed).
    const tokens = docs.flatMap((d) => [...(d.title ? analyzer.analyze(d.title) : []), ...analyzer.analyze(d.text)]);
    const total = tokens.length;
    const cf = (t: string) => tokens.filter((x) => x === t).length;
    expect(view.totalTermCount).toBe(total);
    expect(view.collectionFreqs(["solar", "wind", "nope"])).toEqual([cf("solar"), cf("wind"), 0]);
    const mu = DIRICHLET_MU_PER_AVG_LENGTH * (total / docs.length);
    const ql = (d: Document) => {
      const terms = [...(d.title ? analyzer.analyze(d.title) : []), ...analyzer.analyze(d.text)];
      const tf = (t: string) => terms.filter((x) => x === t).length;
      return ["solar", "wind"].reduce((s, t) => s + Math.log((tf(t) + (mu * cf(t)) / total) / (terms.length + mu)), 0);
    };
    const best = Math.max(...docs.map(ql));
    for (let c = 0; c < docs.length; c++) expect(get(m, c, "ql_dirichlet")).toBeCloseTo((ql(docs[c]) - best) / 2, 12);
    expect(Math.max(...[0, 1, 2, 3].map((c) => get(m, c, "ql_dirichlet")))).toBe(0);
    // The bread recipe has neither term: the lowest likelihood.
    expect(get(m, 2, "ql_dirichlet")).toBeLessThan(get(m, 0, "ql_dirichlet"));
  });

  it("computes DPH by Terrier's formula and normalizes it by the best candidate", () => {
    // tf 2 in a document of 10 terms, average length 20, 100 documents, 50 occurrences in the collection.
    const f = 2 / 10;
    const expected = (((1 - f) * (1 - f)) / 3) * (2 * Math.log2(((2 * 20) / 10) * (100 / 50)) + 0.5 * Math.log2(2 * Math.PI * 2 * (1 - f)));
    expect(dphPart(2, 10, 20, 100, 50)).toBeCloseTo(expected, 12);
    expect(dphPart(0, 10, 20, 100, 50)).toBe(0);
    const m = all.extract(indexCorpusView(tinyIndex(docs)), "solar wind", asCandidates(docs));
    expect(Math.max(...[0, 1, 2, 3].map((c) => get(m, c, "dph_ratio_max")))).toBeCloseTo(1, 12);
    expect(get(m, 2, "dph_ratio_max")).toBe(0);
  });

  it("counts query-term pairs in query order within the window, not reversed ones", () => {
    const cands = asCandidates([
      { id: "in-order", text: "solar energy from the distant wind" }, // solar … wind within 8
      { id: "reversed", text: "wind then solar" },
      { id: "far", text: "solar a b c d e f g h i j k wind" },
    ]);
    const m = all.extract(candidateListView(analyzer, cands), "solar wind", cands);
    expect(get(m, 0, "ordered_window_fraction")).toBe(1);
    expect(get(m, 1, "ordered_window_fraction")).toBe(0);
    expect(get(m, 2, "ordered_window_fraction")).toBe(0);
    const one = all.extract(candidateListView(analyzer, cands), "solar", cands);
    expect(Number.isNaN(get(one, 0, "ordered_window_fraction"))).toBe(true);
  });

  it("rejects unknown or duplicate feature names naming the field", () => {
    expect(() => new FeatureExtractor(["bm25", "nonsense"])).toThrowError(/features: unknown feature "nonsense"/);
    expect(() => new FeatureExtractor(["bm25", "bm25"])).toThrowError(/listed twice/);
    expect(() => new FeatureExtractor([])).toThrowError(/non-empty/);
  });
});

describe("rm3_ratio_max", () => {
  it("equals Rm3Retriever's score for each BM25 candidate (ratio to the best), and reads scores['bm25-rm3'] when the first stage left them", async () => {
    const dir = `${PACKAGE_ROOT}examples/scifact-mini`;
    const index = await Bm25Index.build(readCorpus(dir));
    const rm3 = new Rm3Retriever(index);
    const { queries } = await loadBeirDataset(dir, "test");
    const ex = new FeatureExtractor(["rm3_ratio_max"]);
    let compared = 0;
    for (const q of queries.slice(0, 5)) {
      const candidates = await index.search(q, 30);
      // Every document the expanded query matches, with Rm3Retriever's own scores.
      const rm3Scores = new Map((await rm3.search(q, index.docCount)).map((c) => [c.document.id, c.score]));
      const raw = candidates.map((c) => rm3Scores.get(c.document.id) ?? 0);
      const best = Math.max(...raw);
      const m = ex.extract(indexCorpusView(index), q.text, candidates, undefined, { rm3Terms: await rm3.expand(q) });
      candidates.forEach((_, c) => expect(m[c]).toBeCloseTo(raw[c] / best, 6));
      // Candidates that came from the RM3 first stage carry the score: same feature, no expansion needed.
      const fromRm3 = candidates.map((c) => ({ ...c, scores: { ...c.scores, "bm25-rm3": rm3Scores.get(c.document.id) ?? 0 } }));
      const viaScores = ex.extract(indexCorpusView(index), q.text, fromRm3);
      candidates.forEach((_, c) => expect(viaScores[c]).toBeCloseTo(raw[c] / best, 6));
      compared += candidates.length;
    }
    expect(compared).toBeGreaterThan(50);
    // Neither an expansion nor first-stage scores: missing.
    const cands = await index.search(queries[0], 5);
    expect(Array.from(ex.extract(indexCorpusView(index), queries[0].text, cands)).every(Number.isNaN)).toBe(true);
  });
});

describe("round-3 features: BM25F, pseudo-relevance similarity, RM3 rank", () => {
  const names = ["bm25f_ratio_max", "centroid_similarity", "centroid_similarity_ratio_max", "rm3_similarity_ratio_max", "rm3_rank_fraction"];
  const ex = new FeatureExtractor(names);
  const F = names.length;
  const get = (m: Float64Array, c: number, name: string) => m[c * F + names.indexOf(name)];

  it("computes BM25F with titles weighted 2 by its definition, missing without a title", () => {
    const index = tinyIndex(docs);
    const view = indexCorpusView(index);
    const m = ex.extract(view, "solar wind", asCandidates(docs));
    const idf = bm25Idf(4, 3); // solar and wind are each in 3 of the 4 documents
    const text = (d: Document) => analyzer.analyze(d.text);
    const avgTitle = view.avgTitleLength;
    const avg = 2 * avgTitle + (index.avgDocLength - avgTitle);
    const part = (tf: number, len: number) => tf / (tf + 0.9 * (1 - 0.4 + (0.4 * len) / avg));
    // a: title "solar wind" (×2) + one of each in its text; b: title "wind farms", text "wind … wind … solar"
    const a = 2 * idf * part(2 * 1 + 1, 2 * 2 + text(docs[0]).length);
    const b = idf * part(2 * 1 + 2, 2 * 2 + text(docs[1]).length) + idf * part(1, 2 * 2 + text(docs[1]).length);
    expect(get(m, 0, "bm25f_ratio_max")).toBeCloseTo(a / Math.max(a, b), 12);
    expect(get(m, 1, "bm25f_ratio_max")).toBeCloseTo(b / Math.max(a, b), 12);
    expect(get(m, 2, "bm25f_ratio_max")).toBe(0); // a title, no query term
    expect(get(m, 3, "bm25f_ratio_max")).toBeNaN(); // no title: missing, not evidence
  });

  it("compares each candidate with the centroid of the top 10 it is left out of: cosines of (1 + log tf)·idf unit vectors", () => {
    const pair: Document[] = [
      { id: "x", text: "coral reefs bleach in warm water" },
      { id: "y", text: "coral reefs bleach in warm water" },
      { id: "z", text: "stock markets fell sharply" },
    ];
    const view = candidateListView(analyzer, toCandidates(pair));
    const m = ex.extract(view, "coral", pair.map((d, i) => ({ document: d, score: 3 - i, rank: i + 1 })));
    // x against (y + z): y is x's unit vector, z is orthogonal → 1 / √2; z shares no term → 0
    expect(get(m, 0, "centroid_similarity")).toBeCloseTo(1 / Math.SQRT2, 12);
    expect(get(m, 1, "centroid_similarity")).toBeCloseTo(1 / Math.SQRT2, 12);
    expect(get(m, 2, "centroid_similarity")).toBe(0);
    expect(get(m, 0, "centroid_similarity_ratio_max")).toBeCloseTo(1, 12);
    // a candidate ranked below 10 is compared with the whole top 10 (nothing to leave out)
    const eleven = Array.from({ length: 11 }, (_, i): Candidate => ({ document: i === 10 ? pair[0] : { id: `t${i}`, text: i % 2 ? pair[0].text : pair[2].text }, score: 11 - i, rank: i + 1 }));
    const m11 = ex.extract(candidateListView(analyzer, eleven), "coral", eleven);
    // top 10: five copies of x's text, five of z's (orthogonal): cos = 5 / √(25 + 25)
    expect(get(m11, 10, "centroid_similarity")).toBeCloseTo(5 / Math.sqrt(50), 12);
    // t1 (x's text, in the top 10): its four other copies and the five z's → 4 / √(16 + 25)
    expect(get(m11, 1, "centroid_similarity")).toBeCloseTo(4 / Math.sqrt(41), 12);
  });

  it("compares each candidate with the RM3 relevance model when there is an expansion, and ranks RM3 scores within the list", () => {
    const index = tinyIndex(docs);
    const view = indexCorpusView(index);
    const cands = asCandidates(docs).map((c, i) => ({ ...c, scores: { "bm25-rm3": [2, 5, 0.5, 5][i] } }));
    const without = ex.extract(view, "solar wind", cands);
    expect([0, 1, 2, 3].map((c) => get(without, c, "rm3_similarity_ratio_max")).every(Number.isNaN)).toBe(true);
    // ties share the better rank; fraction of the list
    expect([0, 1, 2, 3].map((c) => get(without, c, "rm3_rank_fraction"))).toEqual([3 / 4, 1 / 4, 4 / 4, 1 / 4]);
    // only "bread" in the model: the recipe is the one candidate that matches it
    const m = ex.extract(view, "solar wind", cands, undefined, { rm3Terms: [{ term: "bread", weight: 1 }] });
    expect([0, 1, 2, 3].map((c) => get(m, c, "rm3_similarity_ratio_max"))).toEqual([0, 0, 1, 0]);
    // the same candidates without any RM3 source: the rank is missing
    const plain = ex.extract(view, "solar wind", asCandidates(docs));
    expect(get(plain, 0, "rm3_rank_fraction")).toBeNaN();
  });
});
