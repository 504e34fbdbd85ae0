import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { compareIdsCodePoint } from "../../../src/core/id-order.js";
import type { Candidate, Document } from "../../../src/core/types.js";
import { readCorpus, readQueries } from "../../../src/eval/readers/beir.js";
import { Bm25Index } from "../../../src/retrieval/bm25/bm25-index.js";
import { lengthToNorm as lengthToNormOf, normInverseCache } from "../../../src/retrieval/bm25/lucene-bm25.js";
import { NO_MORE_DOCS, type PostingsCursor } from "../../../src/retrieval/bm25/postings-cursor.js";
import { blockMaxMaxScoreTopK } from "../../../src/retrieval/bm25/pruning/block-max-maxscore.js";
import { MemoryPostings, POSTINGS_BLOCK_SIZE } from "../../../src/retrieval/bm25/pruning/memory-postings.js";
import { Rm3Retriever } from "../../../src/retrieval/bm25/rm3.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const datasets = join(root, "..", "shared", "datasets");
const COLLECTIONS = ["scifact", "cranfield", "cisi", "adi"];
const KS = [10, 100, 1000];

// These collections are small enough that the index would score them exhaustively: force pruning.
const defaultMinPostings = Bm25Index.pruningMinPostings;
beforeAll(() => {
  Bm25Index.pruningMinPostings = 0;
});
afterAll(() => {
  Bm25Index.pruningMinPostings = defaultMinPostings;
});
afterEach(() => {
  Bm25Index.dynamicPruning = true;
});

async function exhaustive<T>(fn: () => Promise<T>): Promise<T> {
  Bm25Index.dynamicPruning = false;
  try {
    return await fn();
  } finally {
    Bm25Index.dynamicPruning = true;
  }
}

function flat(hits: Candidate[]): Array<[string, number]> {
  return hits.map((h) => [h.document.id, h.score]);
}

/** Counts the postings a search scores, so a test can tell pruning happened. */
class CountingCursor implements PostingsCursor {
  scored = 0;
  constructor(private readonly inner: PostingsCursor) {}
  get docFrequency() {
    return this.inner.docFrequency;
  }
  maxScore() {
    return this.inner.maxScore();
  }
  docId() {
    return this.inner.docId();
  }
  next() {
    return this.inner.next();
  }
  advance(t: number) {
    return this.inner.advance(t);
  }
  score() {
    this.scored++;
    return this.inner.score();
  }
  shallowAdvance(t: number) {
    this.inner.shallowAdvance(t);
  }
  blockMaxScore() {
    return this.inner.blockMaxScore();
  }
  blockLastDoc() {
    return this.inner.blockLastDoc();
  }
}

for (const name of COLLECTIONS) {
  const dir = join(datasets, name);
  const present = existsSync(join(dir, "corpus.jsonl"));
  describe.skipIf(!present)(`pruned BM25 equals exhaustive on ${name}${present ? "" : ` (skipped: ${dir} is absent)`}`, () => {
    let index: Bm25Index;
    let queries: string[];
    const ready = (async () => {
      if (!present) return;
      const docs: Document[] = [];
      for await (const d of readCorpus(dir)) docs.push(d);
      index = await Bm25Index.build(docs);
      queries = [...(await readQueries(dir)).values()].map((q) => q.text);
    })();

    it(`every query at k = ${KS.join(", ")}: the same ids, scores and order`, async () => {
      await ready;
      let compared = 0;
      for (const k of KS) {
        for (const q of queries) {
          const pruned = flat(await index.search(q, k));
          const full = flat(await exhaustive(() => index.search(q, k)));
          if (pruned.length !== full.length || pruned.some(([id, s], i) => id !== full[i][0] || s !== full[i][1])) {
            expect({ k, q, pruned: pruned.slice(0, 20) }).toEqual({ k, q, pruned: full.slice(0, 20) });
            expect(pruned).toEqual(full);
          }
          compared++;
        }
      }
      expect(compared).toBe(queries.length * KS.length);
    }, 120_000);

    it("RM3's weighted queries at k = 10 and 1000: the same ids, scores and order", async () => {
      await ready;
      const rm3 = new Rm3Retriever(index);
      // Every query of the small collections, every 4th of SciFact's 1,109 (CI time).
      const sample = queries.filter((_, i) => name !== "scifact" || i % 4 === 0);
      for (const q of sample) {
        const expanded = await exhaustive(() => rm3.expand(q));
        for (const k of [10, 1000]) {
          const pruned = flat(await index.searchWeighted(expanded, k));
          const full = flat(await exhaustive(() => index.searchWeighted(expanded, k)));
          expect(pruned).toEqual(full);
        }
      }
    }, 120_000);
  });
}

describe("block-max MaxScore", () => {
  const dir = join(datasets, "scifact");
  const present = existsSync(join(dir, "corpus.jsonl"));

  it.skipIf(!present)("scores far fewer postings than exhaustive scoring at top-10 on SciFact, with the same results", async () => {
    const docs: Document[] = [];
    for await (const d of readCorpus(dir)) docs.push(d);
    const index = await Bm25Index.build(docs);
    const queries = [...(await readQueries(dir)).values()].slice(0, 200);
    const normInverse = normInverseCache(index.params, index.avgDocLength);
    const postings = postingsOf(index);
    const memory = new MemoryPostings(postings, normInverse);
    const idRank = idRankOf(index);
    let scored = 0;
    let total = 0;
    for (const q of queries) {
      const counts = new Map<number, number>();
      for (const t of index.queryTermIds(q.text)) counts.set(t, (counts.get(t) ?? 0) + 1);
      const cursors = [...counts].map(([t, c]) => new CountingCursor(memory.cursor(t, Math.fround(c * index.idf(t)))));
      const exact = [...counts].map(([t, c]) => new CountingCursor(memory.cursor(t, Math.fround(c * index.idf(t)))));
      const [ids, scores] = blockMaxMaxScoreTopK(cursors, exact, 10, idRank);
      const expected = await exhaustive(() => index.search(q, 10));
      expect([...ids].map((d) => index.document(d).id)).toEqual(expected.map((h) => h.document.id));
      expect([...scores]).toEqual(expected.map((h) => h.score));
      scored += cursors.reduce((n, c) => n + c.scored, 0) + exact.reduce((n, c) => n + c.scored, 0);
      total += [...counts.keys()].reduce((n, t) => n + index.docFreq(t), 0);
    }
    expect(scored).toBeLessThan(total * 0.5);
  }, 60_000);

  it("keeps tied scores in id order and honours a filter mask", () => {
    // 1,000 documents of equal length, term 0 in all with tf 1 (one score for all), term 1 in every 7th.
    const n = 1000;
    const docs0 = Uint32Array.from({ length: n }, (_, i) => i);
    const docs1 = docs0.filter((d) => d % 7 === 0);
    const offsets = Uint32Array.from([0, n, n + docs1.length]);
    const postings = {
      offsets,
      docs: Uint32Array.from([...docs0, ...docs1]),
      freqs: new Uint32Array(n + docs1.length).fill(1),
      norms: new Uint8Array(n).fill(10),
    };
    const normInverse = normInverseCache({ k1: 0.9, b: 0.4 }, 10);
    const memory = new MemoryPostings(postings, normInverse);
    // Reverse id order: the larger doc number wins a tie.
    const idRank = Uint32Array.from({ length: n }, (_, i) => n - 1 - i);
    const mask = Uint8Array.from({ length: n }, (_, i) => (i % 2 === 0 ? 1 : 0));
    const [ids] = blockMaxMaxScoreTopK([memory.cursor(0, 1), memory.cursor(1, 2)], [memory.cursor(0, 1), memory.cursor(1, 2)], 150, idRank, mask);
    const both = [...docs1].filter((d) => d % 2 === 0).sort((a, b) => b - a);
    const onlyFirst = [...docs0].filter((d) => d % 2 === 0 && d % 7 !== 0).sort((a, b) => b - a);
    expect([...ids]).toEqual([...both, ...onlyFirst].slice(0, 150));
  });

  it("cursors advance, skip blocks and end as the interface says", () => {
    const n = 1000;
    const docs = Uint32Array.from({ length: n }, (_, i) => i * 3);
    const postings = { offsets: Uint32Array.from([0, n]), docs, freqs: Uint32Array.from({ length: n }, (_, i) => 1 + (i % 5)), norms: new Uint8Array(3 * n).fill(12) };
    const memory = new MemoryPostings(postings, normInverseCache({ k1: 0.9, b: 0.4 }, 12));
    const c = memory.cursor(0, 1.5);
    expect(c.docId()).toBe(-1);
    expect(c.next()).toBe(0);
    expect(c.advance(301)).toBe(303);
    expect(c.advance(303)).toBe(303);
    c.shallowAdvance(1000);
    expect(c.blockLastDoc()).toBe(3 * (3 * POSTINGS_BLOCK_SIZE - 1));
    expect(c.docId()).toBe(303);
    let maxSeen = 0;
    for (let d = c.docId(); d !== NO_MORE_DOCS; d = c.next()) maxSeen = Math.max(maxSeen, c.score());
    expect(maxSeen).toBe(c.maxScore());
    expect(c.advance(5)).toBe(NO_MORE_DOCS);
    c.shallowAdvance(3 * n);
    expect(c.blockLastDoc()).toBe(NO_MORE_DOCS);
    expect(c.blockMaxScore()).toBe(0);
  });
});

/** The index's postings, rebuilt from its public forward view (term ids per document). */
function postingsOf(index: Bm25Index) {
  const lists: Array<Array<[number, number]>> = Array.from({ length: index.vocabularySize }, () => []);
  const norms = new Uint8Array(index.size);
  for (let d = 0; d < index.size; d++) {
    const { terms } = index.documentTerms(d);
    norms[d] = lengthToNormOf(terms.length);
    const tf = new Map<number, number>();
    for (const t of terms) tf.set(t, (tf.get(t) ?? 0) + 1);
    for (const [t, f] of tf) lists[t].push([d, f]);
  }
  const offsets = new Uint32Array(lists.length + 1);
  lists.forEach((l, t) => (offsets[t + 1] = offsets[t] + l.length));
  const docs = new Uint32Array(offsets[lists.length]);
  const freqs = new Uint32Array(offsets[lists.length]);
  lists.forEach((l, t) => l.forEach(([d, f], i) => ((docs[offsets[t] + i] = d), (freqs[offsets[t] + i] = f))));
  return { offsets, docs, freqs, norms };
}

function idRankOf(index: Bm25Index): Uint32Array {
  const order = Array.from({ length: index.size }, (_, i) => i).sort((a, b) => compareIdsCodePoint(index.document(a).id, index.document(b).id));
  const rank = new Uint32Array(index.size);
  order.forEach((d, r) => (rank[d] = r));
  return rank;
}
