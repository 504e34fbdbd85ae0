import { NO_MORE_DOCS, type PostingsCursor } from "../postings-cursor.js";
import { TopKHeap } from "./top-k-heap.js";

/**
 * Bounds are compared inflated by this factor: a document's final score is its
 * clause sum rounded to float32 (up to 2^-24 relative above the double sum), and the
 * partial sums here add in another order than the exact one. Over-estimating a bound
 * costs a little speed; under-estimating it would lose a hit.
 */
const BOUND_SLACK = 1 + 1e-6;
/**
 * Documents per window: one set of block bounds and one term-at-a-time pass of the
 * essential clauses each. Windows start small, so that the k-th score (and with it the
 * pruning) is established after a few hundred documents, and double up to WINDOW.
 */
const FIRST_WINDOW = 256;
const WINDOW = 4096;

/**
 * Exact top-k of a disjunction of BM25 clauses by block-max MaxScore (Turtle & Flood's
 * MaxScore with per-window bounds from block maxima, as Lucene 9.7's
 * MaxScoreBulkScorer and PISA's block_max_maxscore do).
 *
 * Documents go by in windows (256 documents, doubling up to 4,096). In each window a clause's bound is the largest
 * block maximum it has there; clauses are sorted by bound, and the longest prefix whose
 * bounds sum below the k-th best score so far is non-essential: a document matching
 * only those cannot enter the top k. The essential clauses are scored term at a time
 * into the window's accumulator (tight loops, no per-document dispatch); then each
 * document they hit is completed from the non-essential clauses, largest bound first,
 * and dropped as soon as its partial score plus the bounds left falls short. A window
 * where all bounds together fall short is skipped without decoding a posting.
 *
 * Exact, not approximate: every document that can reach the k-th score (ties
 * included: they go to the smaller id rank) is scored in full, and the score it is
 * ranked by comes from `exactCursors` (a second cursor per clause, moving forward
 * only, as documents are offered in increasing order): clause contributions summed in
 * clause order in double, then rounded to float32, which is what exhaustive
 * term-at-a-time scoring computes, bit for bit. `cursors` and `exactCursors` are fresh
 * cursors over the same clauses, in the clause order exhaustive scoring sums in.
 */
export function blockMaxMaxScoreTopK(
  cursors: ReadonlyArray<PostingsCursor>,
  exactCursors: ReadonlyArray<PostingsCursor>,
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
  const acc = new Float64Array(WINDOW);
  const hit = new Int32Array(WINDOW >> 5);
  let threshold = -Infinity;

  // When every contribution is a float32 ≥ minContribution and no sum can exceed maxSum, all
  // contributions are integer multiples of one power of two (the float32 ulp at minContribution)
  // and every partial sum stays below 2^53 of them: double addition is exact in any order, so
  // the window's sums already equal exhaustive scoring's and need no re-summing.
  let maxSum = 0;
  let minContribution = Infinity;
  for (let i = 0; i < n; i++) {
    const c = cursors[i];
    maxSum += c.maxScore();
    if (c.maxScore() > 0) minContribution = Math.min(minContribution, c.minScore === undefined ? 0 : c.minScore());
  }
  const sumsExact = minContribution > 0 && maxSum / minContribution < 2 ** 29;

  const exactScore = (doc: number): number => {
    let sum = 0;
    for (let i = 0; i < n; i++) {
      const c = exactCursors[i];
      let d = c.docId();
      if (d < doc) d = c.advance(doc);
      if (d === doc) sum += c.score();
    }
    return Math.fround(sum);
  };

  let windowStart = NO_MORE_DOCS;
  for (let i = 0; i < n; i++) windowStart = Math.min(windowStart, cursors[i].next());

  let windowSize = FIRST_WINDOW;
  while (windowStart < NO_MORE_DOCS) {
    const windowEnd = Math.min(NO_MORE_DOCS - 1, windowStart + windowSize - 1);
    if (windowSize < WINDOW) windowSize *= 2;
    for (let i = 0; i < n; i++) {
      const c = cursors[i];
      order[i] = i;
      const d = c.docId();
      if (d > windowEnd) {
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
    let firstEssential = 0;
    while (firstEssential < n && prefix[firstEssential] * BOUND_SLACK < threshold) firstEssential++;

    if (firstEssential < n) {
      // Term at a time over the essential clauses.
      for (let j = firstEssential; j < n; j++) {
        const c = cursors[order[j]];
        let d = c.docId();
        if (d < windowStart) d = c.advance(windowStart);
        while (d <= windowEnd) {
          const o = d - windowStart;
          acc[o] += c.score();
          hit[o >> 5] |= 1 << (o & 31);
          d = c.next();
        }
      }
      const nonEssentialBound = firstEssential > 0 ? prefix[firstEssential - 1] : 0;
      // The window's hits in document order, completed from the non-essential clauses.
      const words = ((windowEnd - windowStart) >> 5) + 1;
      for (let w = 0; w < words; w++) {
        let bits = hit[w];
        if (bits === 0) continue;
        hit[w] = 0;
        while (bits !== 0) {
          const o = (w << 5) + 31 - Math.clz32(bits & -bits);
          bits &= bits - 1;
          let score = acc[o];
          acc[o] = 0;
          const doc = windowStart + o;
          if (mask !== undefined && mask[doc] === 0) continue;
          if ((score + nonEssentialBound) * BOUND_SLACK < threshold) continue;
          let competitive = true;
          for (let j = firstEssential - 1; j >= 0; j--) {
            if ((score + prefix[j]) * BOUND_SLACK < threshold) {
              competitive = false;
              break;
            }
            const c = cursors[order[j]];
            let d = c.docId();
            if (d < doc) d = c.advance(doc);
            if (d === doc) score += c.score();
          }
          if (!competitive || score * BOUND_SLACK < threshold) continue;
          if (heap.offer(doc, sumsExact ? Math.fround(score) : exactScore(doc)) && heap.full) threshold = heap.threshold;
        }
      }
    }
    // The next window starts at the next document any clause holds (lagging non-essential
    // clauses are moved past this window: one advance each), so empty stretches cost nothing.
    windowStart = NO_MORE_DOCS;
    for (let i = 0; i < n; i++) {
      const c = cursors[i];
      let d = c.docId();
      if (d <= windowEnd) d = c.advance(windowEnd + 1);
      if (d < windowStart) windowStart = d;
    }
  }
  return heap.drain();
}
