/**
 * Lucene 8's BM25Similarity, reproduced in float32 arithmetic (Math.fround at each
 * step Java does in float) so scores, and therefore ranks and ties, match Lucene's.
 * Document lengths go through Lucene's lossy one-byte norm (SmallFloat.intToByte4),
 * which is why two documents of lengths 100 and 104 score the same.
 */
const f = Math.fround;

export interface Bm25Params {
  k1: number;
  b: number;
}

export const DEFAULT_BM25_PARAMS: Readonly<Bm25Params> = Object.freeze({ k1: 0.9, b: 0.4 });

/** SmallFloat.longToInt4: a float-like encoding keeping 4 significant bits. */
function longToInt4(i: number): number {
  const numBits = i === 0 ? 0 : Math.floor(Math.log2(i)) + 1;
  if (numBits < 4) return i; // subnormal
  const shift = numBits - 4;
  let encoded = Math.floor(i / 2 ** shift) & 0x07; // drop the implicit leading bit
  encoded |= (shift + 1) << 3;
  return encoded;
}

function int4ToLong(i: number): number {
  const bits = i & 0x07;
  const shift = (i >>> 3) - 1;
  return shift === -1 ? bits : (bits | 0x08) * 2 ** shift;
}

const MAX_INT4 = longToInt4(2 ** 31 - 1);
const NUM_FREE_VALUES = 255 - MAX_INT4; // 24: lengths below this are stored exactly

/** SmallFloat.intToByte4: document length → norm byte (0..255). */
export function lengthToNorm(length: number): number {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`length must be a non-negative integer, got ${length}`);
  const capped = Math.min(length, 2 ** 31 - 1);
  return capped < NUM_FREE_VALUES ? capped : NUM_FREE_VALUES + longToInt4(capped - NUM_FREE_VALUES);
}

/** SmallFloat.byte4ToInt: norm byte → the length Lucene scores with. */
export function normToLength(norm: number): number {
  const i = norm & 0xff;
  return i < NUM_FREE_VALUES ? i : NUM_FREE_VALUES + int4ToLong(i - NUM_FREE_VALUES);
}

/** BM25Similarity.LENGTH_TABLE (a float[] in Lucene, hence Float32Array). */
export const LENGTH_TABLE: Float32Array = Float32Array.from({ length: 256 }, (_, i) => normToLength(i));

/** BM25Similarity.idf: ln(1 + (N - df + 0.5) / (df + 0.5)), rounded to float. */
export function luceneIdf(docFreq: number, docCount: number): number {
  return f(Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5)));
}

/** BM25Similarity.avgFieldLength: sumTotalTermFreq / docCount, rounded to float. */
export function luceneAvgFieldLength(sumTotalTermFreq: number, docCount: number): number {
  return docCount === 0 ? 1 : f(sumTotalTermFreq / docCount);
}

/** The scorer's per-norm cache: 1 / (k1 · (1 - b + b · len / avgdl)) in float. */
export function normInverseCache(params: Bm25Params, avgdl: number): Float32Array {
  const k1 = f(params.k1);
  const b = f(params.b);
  const oneMinusB = f(1 - b);
  const cache = new Float32Array(256);
  for (let i = 0; i < 256; i++) {
    cache[i] = f(1 / f(k1 * f(oneMinusB + f(f(b * LENGTH_TABLE[i]) / avgdl))));
  }
  return cache;
}

/**
 * BM25Scorer.score: weight - weight / (1 + freq · normInverse), Lucene's rewrite of
 * weight · freq / (freq + norm) that stays monotonic in float; weight = boost · idf.
 */
export function luceneBm25Score(weight: number, freq: number, normInverse: number): number {
  return f(weight - f(weight / f(1 + f(freq * normInverse))));
}
