import { luceneBm25Score } from "../lucene-bm25.js";
import { NO_MORE_DOCS, type PostingsCursor } from "../postings-cursor.js";
import { decodeBlock, POSTINGS_BLOCK, readBlockIndex, type BlockIndex } from "./postings-codec.js";

/**
 * One term's postings as read from a segment, shared by the cursors of a query (pruned
 * search opens two per clause): the encoded bytes and their decoded block headers, with
 * block bounds computed for one (weight, norm cache) from each block's (maxTf, minNorm).
 */
export class SegmentTermPostings {
  readonly blocks: BlockIndex;
  /** luceneBm25Score(weight, maxTf, normInverse[minNorm]) per block: ≥ every score in the block. */
  readonly blockBounds: Float32Array;
  readonly maxScore: number;

  constructor(
    readonly bytes: Uint8Array,
    readonly df: number,
    readonly weight: number,
    readonly normInverse: Float32Array,
    readonly norms: Uint8Array,
    readonly deleted: Uint8Array | undefined,
    blocks?: BlockIndex,
  ) {
    this.blocks = blocks ?? readBlockIndex(bytes, df);
    const n = this.blocks.lastDocs.length;
    this.blockBounds = new Float32Array(n);
    let max = 0;
    for (let b = 0; b < n; b++) {
      const bound = luceneBm25Score(weight, this.blocks.maxTfs[b], normInverse[this.blocks.minNorms[b]]);
      this.blockBounds[b] = bound;
      if (bound > max) max = bound;
    }
    this.maxScore = max;
  }

  cursor(): PostingsCursor {
    return new SegmentPostingsCursor(this);
  }
}

/**
 * PostingsCursor over a segment's encoded postings: blocks are decoded when the
 * posting position enters them, block-max metadata is read from headers only, and
 * deleted documents are stepped over (so scores, bounds and results never see them).
 */
class SegmentPostingsCursor implements PostingsCursor {
  readonly docFrequency: number;
  private readonly docs = new Uint32Array(POSTINGS_BLOCK);
  private readonly tfs = new Uint32Array(POSTINGS_BLOCK);
  /** Block decoded into docs/tfs (-1: none). */
  private decoded = -1;
  private block = 0;
  private inBlock = -1;
  private count = 0;
  private doc = -1;
  private shallow = 0;
  private readonly lastBlock: number;

  constructor(private readonly t: SegmentTermPostings) {
    this.docFrequency = t.df;
    this.lastBlock = t.blocks.lastDocs.length - 1;
  }

  maxScore(): number {
    return this.t.maxScore;
  }

  docId(): number {
    return this.doc;
  }

  private load(b: number): void {
    const prevLast = b === 0 ? -1 : this.t.blocks.lastDocs[b - 1];
    this.count = Math.min(POSTINGS_BLOCK, this.t.df - b * POSTINGS_BLOCK);
    decodeBlock(this.t.bytes, this.t.blocks.payloadStarts[b], this.count, prevLast, this.docs, this.tfs);
    this.decoded = b;
  }

  /** Moves to the next posting at or after the current position + 1 that is not deleted. */
  next(): number {
    const deleted = this.t.deleted;
    for (;;) {
      if (this.decoded !== this.block) {
        if (this.block > this.lastBlock) return (this.doc = NO_MORE_DOCS);
        this.load(this.block);
        this.inBlock = -1;
      }
      if (++this.inBlock < this.count) {
        const d = this.docs[this.inBlock];
        if (deleted !== undefined && deleted[d] === 1) continue;
        return (this.doc = d);
      }
      this.block++;
    }
  }

  advance(target: number): number {
    if (this.doc >= target) return this.doc;
    const lastDocs = this.t.blocks.lastDocs;
    // Skip whole blocks by their headers, then scan inside the block.
    let b = this.block;
    if (b <= this.lastBlock && lastDocs[b] < target) {
      let lo = b;
      let hi = this.lastBlock + 1;
      while (hi - lo > 1) {
        const mid = (lo + hi) >>> 1;
        if (lastDocs[mid] < target) lo = mid;
        else hi = mid;
      }
      b = hi;
      if (b > this.lastBlock) {
        this.block = b;
        return (this.doc = NO_MORE_DOCS);
      }
      this.block = b;
      this.load(b);
      this.inBlock = -1;
    }
    for (;;) {
      const d = this.next();
      if (d >= target) return d;
    }
  }

  score(): number {
    return luceneBm25Score(this.t.weight, this.tfs[this.inBlock], this.t.normInverse[this.t.norms[this.doc]]);
  }

  shallowAdvance(target: number): void {
    const lastDocs = this.t.blocks.lastDocs;
    if (this.shallow > this.lastBlock || lastDocs[this.shallow] >= target) return;
    let lo = this.shallow;
    let hi = this.lastBlock + 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      if (lastDocs[mid] < target) lo = mid;
      else hi = mid;
    }
    this.shallow = hi;
  }

  blockMaxScore(): number {
    return this.shallow > this.lastBlock ? 0 : this.t.blockBounds[this.shallow];
  }

  blockLastDoc(): number {
    return this.shallow > this.lastBlock ? NO_MORE_DOCS : this.t.blocks.lastDocs[this.shallow];
  }
}
