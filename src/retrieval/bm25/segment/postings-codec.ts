import { ByteSink, ByteSource } from "./byte-sink.js";

/**
 * One term's postings on disk: blocks of 128 (doc id, term frequency) pairs, the last
 * block shorter. Each block starts with a small header a cursor can read without
 * decoding the block:
 *
 *   varint lastDoc − previous block's lastDoc (the first block counts from −1)
 *   varint payload bytes
 *   varint max tf in the block
 *   byte   min norm in the block (Lucene's length byte, monotone in length)
 *   payload: 128 varint doc gaps (doc − previous doc − 1), then 128 varint tfs
 *
 * (maxTf, minNorm) bounds BM25 of every posting in the block for any k1, b, avgdl and
 * idf (BM25 grows with tf and shrinks with length), so block-max impacts stay valid
 * when appends and deletes change the collection statistics; the bound is computed at
 * query time. Varints rather than bit-packing: on ~200-word documents most gaps and tfs
 * fit one byte, and a byte-wise decoder is the fastest JavaScript can do without SIMD.
 */
export const POSTINGS_BLOCK = 128;

export class PostingsEncoder {
  private readonly docs = new Uint32Array(POSTINGS_BLOCK);
  private readonly tfs = new Uint32Array(POSTINGS_BLOCK);
  private fill = 0;
  private maxTf = 0;
  private minNorm = 255;
  private prevLast = -1;
  private readonly payload = new ByteSink(1024);
  readonly out = new ByteSink(1 << 16);
  count = 0;
  totalTf = 0;

  reset(): void {
    this.fill = 0;
    this.maxTf = 0;
    this.minNorm = 255;
    this.prevLast = -1;
    this.out.reset();
    this.count = 0;
    this.totalTf = 0;
  }

  add(doc: number, tf: number, norm: number): void {
    const i = this.fill++;
    this.docs[i] = doc;
    this.tfs[i] = tf;
    if (tf > this.maxTf) this.maxTf = tf;
    if (norm < this.minNorm) this.minNorm = norm;
    this.count++;
    this.totalTf += tf;
    if (this.fill === POSTINGS_BLOCK) this.flushBlock();
  }

  private flushBlock(): void {
    const n = this.fill;
    if (n === 0) return;
    const p = this.payload;
    p.reset();
    let prev = this.prevLast;
    for (let i = 0; i < n; i++) {
      p.varint(this.docs[i] - prev - 1);
      prev = this.docs[i];
    }
    for (let i = 0; i < n; i++) p.varint(this.tfs[i]);
    const out = this.out;
    out.varint(prev - this.prevLast);
    out.varint(p.length);
    out.varint(this.maxTf);
    out.byte(this.minNorm);
    out.raw(p.view());
    this.prevLast = prev;
    this.fill = 0;
    this.maxTf = 0;
    this.minNorm = 255;
  }

  /** The term's encoded postings (valid until the next reset). */
  finish(): Uint8Array {
    this.flushBlock();
    return this.out.view();
  }
}

/** Block headers of one term's postings, decoded once per query term. */
export interface BlockIndex {
  lastDocs: Uint32Array;
  /** Offset of each block's payload in the term's bytes. */
  payloadStarts: Uint32Array;
  maxTfs: Uint32Array;
  minNorms: Uint8Array;
}

export function readBlockIndex(bytes: Uint8Array, df: number): BlockIndex {
  const blocks = Math.ceil(df / POSTINGS_BLOCK);
  const lastDocs = new Uint32Array(blocks);
  const payloadStarts = new Uint32Array(blocks);
  const maxTfs = new Uint32Array(blocks);
  const minNorms = new Uint8Array(blocks);
  const src = new ByteSource(bytes);
  let last = -1;
  for (let b = 0; b < blocks; b++) {
    last += src.varint();
    lastDocs[b] = last;
    const len = src.varint();
    maxTfs[b] = src.varint();
    minNorms[b] = src.byte();
    payloadStarts[b] = src.pos;
    src.pos += len;
  }
  return { lastDocs, payloadStarts, maxTfs, minNorms };
}

/** Decodes block `b` (of `count` postings, after doc `prevLast`) into docs/tfs at `at`. */
export function decodeBlock(bytes: Uint8Array, start: number, count: number, prevLast: number, docs: Uint32Array, tfs: Uint32Array, at = 0): void {
  let pos = start;
  let prev = prevLast;
  for (let i = 0; i < count; i++) {
    let v = bytes[pos++];
    if (v >= 0x80) {
      v &= 0x7f;
      let shift = 7;
      let c: number;
      do {
        c = bytes[pos++];
        v |= (c & 0x7f) << shift;
        shift += 7;
      } while (c >= 0x80);
    }
    prev += v + 1;
    docs[at + i] = prev;
  }
  for (let i = 0; i < count; i++) {
    let v = bytes[pos++];
    if (v >= 0x80) {
      v &= 0x7f;
      let shift = 7;
      let c: number;
      do {
        c = bytes[pos++];
        v |= (c & 0x7f) << shift;
        shift += 7;
      } while (c >= 0x80);
    }
    tfs[at + i] = v;
  }
}

/** Every posting of a term: doc ids ascending and their term frequencies. */
export function decodePostings(bytes: Uint8Array, df: number, docs: Uint32Array, tfs: Uint32Array): void {
  const src = new ByteSource(bytes);
  let prevLast = -1;
  for (let at = 0; at < df; at += POSTINGS_BLOCK) {
    const delta = src.varint();
    const len = src.varint();
    src.varint();
    src.byte();
    const count = Math.min(POSTINGS_BLOCK, df - at);
    decodeBlock(bytes, src.pos, count, prevLast, docs, tfs, at);
    prevLast += delta;
    src.pos += len;
  }
}
