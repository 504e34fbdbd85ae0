import { NO_MORE_DOCS, type PostingsCursor } from "../postings-cursor.js";
import { TopKHeap } from "./top-k-heap.js";

/**
 * Bounds are compared inflated by this factor: a document's final score is its
 * clause sum rounded to float32 (up to 2^-24 relative above the double sum), and the
 * partial sums here add in another order than the exact one. Over-estimating a bound
 * costs a little speed; under-estimating it would lose a hit.
 */
const BOUND_SLACK = 1 + 1e-6;
/** Smallest window of documents scored under one set of block bounds (Lucene's MaxScoreBulkScorer uses 4096). */
const MIN_WINDOW = 2048;

/**
 * Exact top-k of a disjunction of BM25 clauses by block-max MaxScore (Turtle & Flood's
 * MaxScore, with per-window bounds from block maxima as Lucene 9's MaxScoreBulkScorer
 * and PISA's block_max_maxscore do). Documents are visited in windows; within a window
 * each clause's bound is the largest block maximum it has there, clauses are sorted by
 * bound, and the longest prefix whose bounds sum below the k-th best score so far is
 * "non-essential": a document matching only those cannot enter the top k, so only
 * documents of the essential clauses are candidates, and a candidate stops being
 * scored as soon as its partial score plus the remaining bounds falls short. A window
 * where all bounds together fall short is skipped without decoding a posting.
 *
 * Exact, not approximate: every document that can reach the k-th score (ties
 * included: they go to the smaller id rank) is scored in full, and its score is the
 * clause contributions summed in clause order in double, then rounded to float32,
 * which is what exhaustive term-at-a-time scoring computes. So ids, scores and order
 * equal exhaustive scoring's (test/retrieval/bm25/pruning.test.ts checks it on every
 * shared collection). `cursors` must be in the clause order exhaustive scoring sums
 * in, fresh (not yet advanced).
 */
export function blockMaxMaxScoreTopK(
  cursors: ReadonlyArray<PostingsCursor>,
  k: number,
  idRank: ArrayLike<number>,
  mask?: Uint8Array,
): [Uint32Array, Float32Array] {
  const n = cursors.length;
  const heap = new TopKHeap(k, idRank);
  if (n === 0) return heap.drain();
  const windowBound = new Float64Array(n);
  /** Clause indexes sorted by window bound, ascending; prefix[j] = sum of the first j+1 bounds. */
  const order = new Int32Array(n);
  const prefix = new Float64Array(n);
  const contribution = new Float64Array(n);
  let firstEssential = 0;
  let threshold = -Infinity;

  let windowStart = NO_MORE_DOCS;
  for (let i = 0; i < n; i++) {
    order[i] = i;
    windowStart = Math.min(windowStart, cursors[i].next());
  }

  const partition = () => {
    let j = firstEssential;
    while (j < n && prefix[j] * BOUND_SLACK < threshold) j++;
    firstEssential = j;
  };

  while (windowStart < NO_MORE_DOCS) {
    // Window end: the nearest block end among the clauses that were essential (they lead),
    // but at least MIN_WINDOW documents, so bounds are not recomputed for tiny windows.
    let windowEnd = NO_MORE_DOCS - 1;
    for (let j = Math.min(firstEssential, n - 1); j < n; j++) {
      const c = cursors[order[j]];
      c.shallowAdvance(windowStart);
      const last = c.blockLastDoc();
      if (last < windowEnd) windowEnd = last;
    }
    if (windowEnd < windowStart + MIN_WINDOW - 1) windowEnd = Math.min(NO_MORE_DOCS - 1, windowStart + MIN_WINDOW - 1);
    for (let i = 0; i < n; i++) {
      const c = cursors[i];
      order[i] = i;
      if (c.docId() > windowEnd) {
        windowBound[i] = 0;
        continue;
      }
      c.shallowAdvance(windowStart);
      let bound = c.blockMaxScore();
      while (c.blockLastDoc() < windowEnd) {
        c.shallowAdvance(c.blockLastDoc() + 1);
        const b = c.blockMaxScore();
        if (b > bound) bound = b;
      }
      windowBound[i] = bound;
    }
    order.sort((a, b) => windowBound[a] - windowBound[b]);
    let sum = 0;
    for (let j = 0; j < n; j++) prefix[j] = sum += windowBound[order[j]];
    firstEssential = 0;
    partition();

    if (firstEssential < n) {
      for (let j = firstEssential; j < n; j++) {
        const c = cursors[order[j]];
        if (c.docId() < windowStart) c.advance(windowStart);
      }
      for (;;) {
        let doc = NO_MORE_DOCS;
        for (let j = firstEssential; j < n; j++) {
          const d = cursors[order[j]].docId();
          if (d < doc) doc = d;
        }
        if (doc > windowEnd) break;
        if (mask === undefined || mask[doc] !== 0) {
          let score = 0;
          for (let j = firstEssential; j < n; j++) {
            const i = order[j];
            const c = cursors[i];
            if (c.docId() === doc) score += contribution[i] = c.score();
          }
          let competitive = true;
          for (let j = firstEssential - 1; j >= 0; j--) {
            if ((score + prefix[j]) * BOUND_SLACK < threshold) {
              competitive = false;
              break;
            }
            const i = order[j];
            const c = cursors[i];
            let d = c.docId();
            if (d < doc) d = c.advance(doc);
            if (d === doc) score += contribution[i] = c.score();
          }
          if (competitive && score * BOUND_SLACK >= threshold) {
            // The exact score: contributions in clause order, as exhaustive scoring sums them.
            let exact = 0;
            for (let i = 0; i < n; i++) if (cursors[i].docId() === doc) exact += contribution[i];
            if (heap.offer(doc, Math.fround(exact)) && heap.full && heap.threshold > threshold) {
              threshold = heap.threshold;
              for (let j = firstEssential; j < n; j++) {
                const c = cursors[order[j]];
                if (c.docId() === doc) c.next();
              }
              partition();
              continue;
            }
          }
        }
        for (let j = firstEssential; j < n; j++) {
          const c = cursors[order[j]];
          if (c.docId() === doc) c.next();
        }
      }
    }
    windowStart = windowEnd + 1;
  }
  return heap.drain();
}
