import { luceneBm25Score } from "../lucene-bm25.js";
import { NO_MORE_DOCS, type PostingsCursor } from "../postings-cursor.js";

/** Postings per block, as Lucene's and PISA's block codecs use: the unit of block-max bounds. */
export const POSTINGS_BLOCK_SIZE = 128;
const BLOCK_SHIFT = 7;

/** The flat postings arrays of an in-memory index (term t: [offsets[t], offsets[t+1])). */
export interface PostingsArrays {
  offsets: Uint32Array;
  docs: Uint32Array;
  freqs: Uint32Array;
  /** Lucene's one-byte length norm per document. */
  norms: Uint8Array;
}

/**
 * Block-max metadata for postings held in memory, computed per term on its first
 * query (so opening an index costs nothing more) and kept: one float per 128
 * postings. A block's bound is its largest freq · normInverse[norm] in float:
 * luceneBm25Score is monotonic in that product, so luceneBm25Score(weight, 1, bound)
 * is exactly the block's best score for any weight, not just an upper bound.
 * Bounds depend on k1 and b through normInverse, so they are for one norm cache.
 */
export class MemoryPostings {
  private readonly blockBounds = new Map<number, Float32Array>();
  private readonly termBounds = new Map<number, number>();
  /** Smallest normInverse of any document (the longest one): a floor for every tf ≥ 1 posting's product. */
  private minNormInverse: number | undefined;

  constructor(
    private readonly postings: PostingsArrays,
    /** The norm cache (k1, b, avgdl) bounds are computed for. */
    readonly normInverse: Float32Array,
  ) {}

  /** A cursor over term `termId`'s postings scoring with weight = Math.fround(boost · idf). */
  cursor(termId: number, weight: number): PostingsCursor {
    const bounds = this.boundsOf(termId);
    if (this.minNormInverse === undefined) {
      let maxNorm = 0;
      for (const norm of this.postings.norms) if (norm > maxNorm) maxNorm = norm;
      this.minNormInverse = this.normInverse[maxNorm];
    }
    return new ArrayPostingsCursor(
      this.postings,
      this.normInverse,
      this.postings.offsets[termId],
      this.postings.offsets[termId + 1],
      weight,
      bounds,
      this.termBounds.get(termId)!,
      this.minNormInverse,
    );
  }

  private boundsOf(termId: number): Float32Array {
    let bounds = this.blockBounds.get(termId);
    if (bounds === undefined) {
      const { offsets, docs, freqs, norms } = this.postings;
      const start = offsets[termId];
      const end = offsets[termId + 1];
      const ni = this.normInverse;
      bounds = new Float32Array((end - start + POSTINGS_BLOCK_SIZE - 1) >> BLOCK_SHIFT);
      let termMax = 0;
      for (let b = 0; b < bounds.length; b++) {
        const blockEnd = Math.min(end, start + (b + 1) * POSTINGS_BLOCK_SIZE);
        let max = 0;
        for (let p = start + b * POSTINGS_BLOCK_SIZE; p < blockEnd; p++) {
          const x = Math.fround(freqs[p] * ni[norms[docs[p]]]);
          if (x > max) max = x;
        }
        bounds[b] = max;
        if (max > termMax) termMax = max;
      }
      this.blockBounds.set(termId, bounds);
      this.termBounds.set(termId, termMax);
    }
    return bounds;
  }
}

/** PostingsCursor over a slice of flat arrays; the shallow (block) position is independent of the posting position. */
class ArrayPostingsCursor implements PostingsCursor {
  readonly docFrequency: number;
  private readonly docs: Uint32Array;
  private readonly freqs: Uint32Array;
  private readonly norms: Uint8Array;
  private pos: number;
  private doc = -1;
  private block = 0;
  private readonly lastBlock: number;
  private readonly max: number;
  private readonly min: number;

  constructor(
    postings: PostingsArrays,
    private readonly normInverse: Float32Array,
    private readonly start: number,
    private readonly end: number,
    private readonly weight: number,
    private readonly bounds: Float32Array,
    termBound: number,
    minNormInverse: number,
  ) {
    this.docs = postings.docs;
    this.freqs = postings.freqs;
    this.norms = postings.norms;
    this.docFrequency = end - start;
    this.pos = start - 1;
    this.lastBlock = bounds.length - 1;
    this.max = end > start ? luceneBm25Score(weight, 1, termBound) : 0;
    this.min = end > start ? luceneBm25Score(weight, 1, minNormInverse) : 0;
  }

  minScore(): number {
    return this.min;
  }

  maxScore(): number {
    return this.max;
  }

  docId(): number {
    return this.doc;
  }

  next(): number {
    const p = ++this.pos;
    return (this.doc = p < this.end ? this.docs[p] : NO_MORE_DOCS);
  }

  advance(target: number): number {
    if (this.doc >= target) return this.doc;
    const docs = this.docs;
    const end = this.end;
    let lo = this.pos + 1;
    if (lo >= end) {
      this.pos = end;
      return (this.doc = NO_MORE_DOCS);
    }
    if (docs[lo] < target) {
      // Gallop, then binary search in (lo, hi]: O(log distance).
      let step = 1;
      let hi = lo + 1;
      while (hi < end && docs[hi] < target) {
        lo = hi;
        step <<= 1;
        hi = lo + step;
      }
      if (hi > end) hi = end;
      // docs[lo] < target; find the first index in (lo, hi] with docs[i] >= target (hi may be end).
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (docs[mid] < target) lo = mid;
        else hi = mid;
      }
      lo = hi;
    }
    this.pos = lo;
    return (this.doc = lo < end ? docs[lo] : NO_MORE_DOCS);
  }

  score(): number {
    return luceneBm25Score(this.weight, this.freqs[this.pos], this.normInverse[this.norms[this.doc]]);
  }

  shallowAdvance(target: number): void {
    if (this.block > this.lastBlock || this.blockLast(this.block) >= target) return;
    let lo = this.block;
    let hi = this.lastBlock + 1;
    // First block whose last doc is >= target, in (lo, hi]; hi = past the last block.
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (this.blockLast(mid) < target) lo = mid;
      else hi = mid;
    }
    this.block = hi;
  }

  blockMaxScore(): number {
    return this.block > this.lastBlock ? 0 : luceneBm25Score(this.weight, 1, this.bounds[this.block]);
  }

  blockLastDoc(): number {
    return this.block > this.lastBlock ? NO_MORE_DOCS : this.blockLast(this.block);
  }

  private blockLast(b: number): number {
    return this.docs[Math.min(this.end, this.start + (b + 1) * POSTINGS_BLOCK_SIZE) - 1];
  }
}
