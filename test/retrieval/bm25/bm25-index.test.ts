import { describe, expect, it } from "vitest";
import type { Document } from "../../../src/core/types.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { compareIdsCodePoint } from "../../../src/core/id-order.js";

/** The textbook BM25 of Lucene 8 in plain double arithmetic, as a hand check. */
function bm25(tf: number, df: number, n: number, dl: number, avgdl: number, k1 = 0.9, b = 0.4, boost = 1): number {
  const idf = Math.log(1 + (n - df + 0.5) / (df + 0.5));
  return (boost * idf * tf) / (tf + k1 * (1 - b + (b * dl) / avgdl));
}

const DOCS: Document[] = [
  { id: "d1", text: "apple banana apple" }, // appl×2 banana  (len 3)
  { id: "d2", text: "banana cherry", metadata: { lang: "en", year: 2020 } }, // banana cherri (len 2)
  { id: "d3", title: "Cherry", text: "cherry cherry date", metadata: { lang: "fr", year: 2023 } }, // cherri×3 date (len 4)
];

describe("Bm25Index scoring (hand-computed, N=3, avgdl=3)", () => {
  it("scores one term like Lucene's BM25", async () => {
    const index = await Bm25Index.build(DOCS);
    expect(index.size).toBe(3);
    expect(index.docCount).toBe(3);
    expect(index.avgDocLength).toBe(3);
    const hits = await index.search("apple", 10);
    expect(hits.map((h) => h.document.id)).toEqual(["d1"]);
    expect(hits[0].score).toBeCloseTo(bm25(2, 1, 3, 3, 3), 5);
    expect(hits[0]).toMatchObject({ rank: 1, source: "bm25", scores: { bm25: hits[0].score } });
  });

  it("sums over distinct query terms and boosts repeated ones", async () => {
    const index = await Bm25Index.build(DOCS);
    const hits = await index.search("cherry banana", 10);
    const expected: Record<string, number> = {
      d3: bm25(3, 2, 3, 4, 3),
      d2: bm25(1, 2, 3, 2, 3) + bm25(1, 2, 3, 2, 3),
      d1: bm25(1, 2, 3, 3, 3),
    };
    const order = Object.entries(expected).sort((a, b) => b[1] - a[1]).map(([id]) => id);
    expect(hits.map((h) => h.document.id)).toEqual(order);
    for (const h of hits) expect(h.score).toBeCloseTo(expected[h.document.id], 5);
    const boosted = await index.search("cherry cherry", 10);
    expect(boosted.find((h) => h.document.id === "d3")!.score).toBeCloseTo(bm25(3, 2, 3, 4, 3, 0.9, 0.4, 2), 5);
  });

  it("takes k1 and b at build time and per query", async () => {
    const index = await Bm25Index.build(DOCS, { k1: 1.2, b: 0.75 });
    expect(index.params).toEqual({ k1: 1.2, b: 0.75 });
    const [hit] = await index.search("apple", 1);
    expect(hit.score).toBeCloseTo(bm25(2, 1, 3, 3, 3, 1.2, 0.75), 5);
    const [other] = await index.search("date", 1, { k1: 2, b: 0 });
    expect(other.score).toBeCloseTo(bm25(1, 1, 3, 4, 3, 2, 0), 5);
  });

  it("uses Lucene's lossy length norms (100 and 96 terms score alike)", async () => {
    const filler = (n: number, tag: string) => Array.from({ length: n }, (_, i) => `${tag}${i}`).join(" ");
    const docs: Document[] = [
      { id: "long", text: `zebra ${filler(99, "x")}` }, // 100 terms, stored as 96
      { id: "mid", text: `zebra ${filler(95, "y")}` }, // 96 terms
      { id: "short", text: `zebra ${filler(9, "z")}` }, // 10 terms
    ];
    const index = await Bm25Index.build(docs);
    const avgdl = (100 + 96 + 10) / 3;
    const hits = await index.search("zebra", 3);
    const byId = Object.fromEntries(hits.map((h) => [h.document.id, h.score]));
    expect(byId.long).toBe(byId.mid);
    expect(byId.long).toBeCloseTo(bm25(1, 3, 3, 96, avgdl), 5);
    expect(byId.long).not.toBeCloseTo(bm25(1, 3, 3, 100, avgdl), 5);
    expect(byId.short).toBeCloseTo(bm25(1, 3, 3, 10, avgdl), 5);
    // The tie goes to the smaller id: "long" < "mid".
    expect(hits.map((h) => h.document.id)).toEqual(["short", "long", "mid"]);
  });

  it("breaks ties by document id, also at the top-k cut", async () => {
    const docs: Document[] = ["e", "c", "a", "d", "b"].map((id) => ({ id, text: "same words here" }));
    const index = await Bm25Index.build(docs);
    expect((await index.search("words", 5)).map((h) => h.document.id)).toEqual(["a", "b", "c", "d", "e"]);
    expect((await index.search("words", 2)).map((h) => h.document.id)).toEqual(["a", "b"]);
    expect(compareIdsCodePoint("\u{1F600}", "\uFFFD")).toBeGreaterThan(0); // code point (UTF-8) order
  });

  it("returns the best k of many in order", async () => {
    const docs: Document[] = Array.from({ length: 300 }, (_, i) => ({ id: `doc${String(i).padStart(3, "0")}`, text: `term ${"term ".repeat(i % 17)} pad${i}` }));
    const index = await Bm25Index.build(docs);
    const all = await index.search("term", 300);
    const top = await index.search("term", 25);
    expect(top.map((h) => h.document.id)).toEqual(all.slice(0, 25).map((h) => h.document.id));
    for (let i = 1; i < all.length; i++) {
      const prev = all[i - 1];
      const cur = all[i];
      expect(prev.score > cur.score || (prev.score === cur.score && prev.document.id < cur.document.id)).toBe(true);
    }
  });

  it("gives the same ranking through the heap used for very large indexes", async () => {
    const docs: Document[] = Array.from({ length: 400 }, (_, i) => ({
      id: `id-${(i * 7919) % 400}`,
      text: `alpha ${"beta ".repeat(i % 5)} ${"gamma ".repeat(i % 3)} pad${i % 50}`,
    }));
    const packed = await Bm25Index.build(docs);
    const saved = Bm25Index.packedTopKLimit;
    Bm25Index.packedTopKLimit = 0;
    try {
      const heap = await Bm25Index.build(docs);
      for (const k of [1, 7, 100, 400]) {
        for (const q of ["alpha", "beta gamma", "gamma pad3 beta beta"]) {
          const a = await packed.search(q, k);
          const b = await heap.search(q, k);
          expect(b.map((h) => [h.document.id, h.score])).toEqual(a.map((h) => [h.document.id, h.score]));
        }
      }
    } finally {
      Bm25Index.packedTopKLimit = saved;
    }
  });

  it("filters on metadata with a pre-filter bitmap (exact top-k among matches)", async () => {
    const index = await Bm25Index.build(DOCS);
    const en = await index.search("cherry banana", 10, { filter: { lang: "en" } });
    expect(en.map((h) => h.document.id)).toEqual(["d2"]);
    const recent = await index.search("cherry banana", 1, { filter: { year: { gte: 2021 } } });
    expect(recent.map((h) => h.document.id)).toEqual(["d3"]);
    expect(await index.search("apple", 10, { filter: { lang: ["en", "fr"] } })).toEqual([]);
    await expect(index.search("apple", 10, { filter: { year: { from: 1 } } as never })).rejects.toMatchObject({ code: "INVALID_INPUT" });
  });

  it("returns no hits for unknown or stop-word-only queries and rejects bad input", async () => {
    const index = await Bm25Index.build(DOCS);
    expect(await index.search("kiwi", 10)).toEqual([]);
    expect(await index.search("the and of", 10)).toEqual([]);
    await expect(index.search("", 10)).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "query" } });
    await expect(index.search("apple", 0)).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "k" } });
    await expect(index.search("apple", 1.5)).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "k" } });
    await expect(index.search("apple", 1, { b: 2 })).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "b" } });
    await expect(Bm25Index.build(DOCS, { k1: -1 })).rejects.toMatchObject({ code: "INVALID_INPUT", details: { field: "k1" } });
    const aborted = AbortSignal.abort();
    await expect(index.search("apple", 1, { signal: aborted })).rejects.toMatchObject({ code: "ABORTED" });
  });

  it("rejects duplicate ids and malformed documents, skips blank ones", async () => {
    await expect(Bm25Index.build([{ id: "a", text: "x" }, { id: "a", text: "y" }])).rejects.toMatchObject({
      code: "INVALID_INPUT",
      details: { field: "documents[1].id" },
    });
    await expect(Bm25Index.build([{ id: "", text: "x" }])).rejects.toMatchObject({ details: { field: "documents[0].id" } });
    await expect(Bm25Index.build([{ id: "a", text: 5 } as never])).rejects.toMatchObject({ details: { field: "documents[0].text" } });
    await expect(Bm25Index.build(42 as never)).rejects.toMatchObject({ details: { field: "documents" } });
    const index = await Bm25Index.build([{ id: "a", text: "  " }, { id: "b", title: "", text: "kept" }, { id: "c", text: "the" }]);
    expect(index.size).toBe(2); // "c" is stored but has no terms
    expect(index.skippedBlank).toBe(1);
    expect(index.docCount).toBe(1);
    expect(index.docIndex("a")).toBeUndefined();
  });

  it("builds from an async iterable and reports progress", async () => {
    async function* gen() {
      for (let i = 0; i < 2500; i++) yield { id: `d${i}`, text: `word${i % 10} common` };
    }
    const seen: number[] = [];
    const index = await Bm25Index.build(gen(), { onProgress: (n) => seen.push(n) });
    expect(index.size).toBe(2500);
    expect(seen).toEqual([1000, 2000, 2500]);
  });

  it("exposes statistics and per-document terms for learned-ranking features", async () => {
    const index = await Bm25Index.build(DOCS);
    const cherry = index.termId("cherri")!;
    expect(cherry).toBeDefined();
    expect(index.termId("cherry")).toBeUndefined(); // terms are analyzed forms
    expect(index.docFreq(cherry)).toBe(2);
    expect(index.idf(cherry)).toBeCloseTo(Math.log(1 + 1.5 / 2.5), 6);
    const d3 = index.docIndex("d3")!;
    expect(index.document(d3).title).toBe("Cherry");
    const { terms, titleLength } = index.documentTerms(d3);
    expect(titleLength).toBe(1);
    expect(Array.from(terms, (t) => index.term(t))).toEqual(["cherri", "cherri", "cherri", "date"]);
    expect(index.analyzer.analyze("Cherries!")).toEqual(["cherri"]);
    const q = index.queryTermIds("cherry banana kiwi");
    expect(q.map((t) => index.term(t))).toEqual(["cherri", "banana"]);
    const hits = await index.search("cherry banana", 3);
    for (const h of hits) expect(index.scoreDocument(q, index.docIndex(h.document.id)!)).toBe(h.score);
    expect(() => index.document(7)).toThrow(/docIndex/);
    expect(() => index.docFreq(-1)).toThrow(/termId/);
  });
});
