import { SeededRandom } from "../../core/seeded-random.js";
import { normalizeRows } from "../../rerankers/colbert/token-matrix.js";

/**
 * PLAID-style residual compression (ColBERTv2, Santhanam et al. 2022; the codec in
 * stanford-futuredata/ColBERT colbert/indexing/codecs/residual.py): each token vector
 * is stored as its nearest centroid's id plus, per dimension, `bits` bits that pick one
 * of 2^bits bucket values for the residual (vector − centroid). The bucket cutoffs are
 * the residuals' quantiles at i/2^bits and the bucket values the quantiles at
 * (i + 0.5)/2^bits, both over all dimensions of a training sample (residual.py:
 * `bucket_cutoffs_quantiles`, `bucket_weights_quantiles`). Decoding adds the bucket
 * values to the centroid and re-normalizes (residual.py `decompress`). Centroid ids are
 * 2 bytes here (up to 65,536 centroids; ColBERT stores 4), so 128 dims at 2 bits take
 * 2 + 32 = 34 bytes per token, at 1 bit 18.
 */
export interface ResidualCodec {
  dims: number;
  bits: 1 | 2;
  /** k × dims, unit rows. */
  centroids: Float32Array;
  cutoffs: Float32Array;
  weights: Float32Array;
}

/** Centroids for `tokens` unit vectors: ColBERT's count, 2^floor(log2(16·√tokens)), capped. */
export function defaultCentroidCount(tokens: number, cap = 1024): number {
  const k = 2 ** Math.floor(Math.log2(16 * Math.sqrt(Math.max(1, tokens))));
  return Math.max(1, Math.min(cap, k, tokens));
}

/** Spherical k-means (unit centroids, dot-product assignment), seeded: the same sample gives the same codec. */
export function trainCentroids(sample: Float32Array, dims: number, k: number, iterations = 6, seed = 7): Float32Array {
  const n = sample.length / dims;
  const rng = new SeededRandom(seed);
  const centroids = new Float32Array(k * dims);
  const picked = new Set<number>();
  for (let c = 0; c < k; c++) {
    let i = Math.floor(rng.uniform() * n);
    for (let guard = 0; picked.has(i) && guard < 10; guard++) i = Math.floor(rng.uniform() * n);
    picked.add(i);
    centroids.set(sample.subarray(i * dims, (i + 1) * dims), c * dims);
  }
  const assign = new Int32Array(n);
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < n; i++) assign[i] = nearestCentroid(centroids, k, dims, sample, i * dims);
    const sums = new Float32Array(k * dims);
    const counts = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const c = assign[i];
      counts[c]++;
      for (let j = 0; j < dims; j++) sums[c * dims + j] += sample[i * dims + j];
    }
    for (let c = 0; c < k; c++) {
      // An empty cluster keeps its centroid (it is still a valid code).
      if (counts[c] > 0) centroids.set(sums.subarray(c * dims, (c + 1) * dims), c * dims);
    }
    normalizeRows(centroids, dims);
  }
  return centroids;
}

export function nearestCentroid(centroids: Float32Array, k: number, dims: number, v: Float32Array, offset: number): number {
  let best = 0;
  let bestScore = -Infinity;
  for (let c = 0; c < k; c++) {
    const base = c * dims;
    let s = 0;
    for (let j = 0; j < dims; j++) s += centroids[base + j] * v[offset + j];
    if (s > bestScore) {
      bestScore = s;
      best = c;
    }
  }
  return best;
}

function quantile(sorted: Float32Array, q: number): number {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/** Trains a codec on a sample of unit token vectors. */
export function trainResidualCodec(sample: Float32Array, dims: number, bits: 1 | 2, k: number): ResidualCodec {
  const centroids = trainCentroids(sample, dims, k);
  const n = sample.length / dims;
  const residuals = new Float32Array(sample.length);
  for (let i = 0; i < n; i++) {
    const c = nearestCentroid(centroids, k, dims, sample, i * dims);
    for (let j = 0; j < dims; j++) residuals[i * dims + j] = sample[i * dims + j] - centroids[c * dims + j];
  }
  residuals.sort();
  const buckets = 2 ** bits;
  const cutoffs = new Float32Array(buckets - 1);
  const weights = new Float32Array(buckets);
  for (let i = 1; i < buckets; i++) cutoffs[i - 1] = quantile(residuals, i / buckets);
  for (let i = 0; i < buckets; i++) weights[i] = quantile(residuals, (i + 0.5) / buckets);
  return { dims, bits, centroids, cutoffs, weights };
}

/** Bytes one token takes: a 2-byte centroid id and the packed residual bits. */
export function residualBytesPerToken(dims: number, bits: number): number {
  return 2 + Math.ceil((dims * bits) / 8);
}

/** Encodes `rows` unit vectors into `out` (rows × residualBytesPerToken bytes). */
export function encodeResidual(codec: ResidualCodec, data: Float32Array, rows: number, out: Uint8Array): void {
  const { dims, bits, centroids, cutoffs } = codec;
  const k = centroids.length / dims;
  const stride = residualBytesPerToken(dims, bits);
  out.fill(0, 0, rows * stride);
  for (let t = 0; t < rows; t++) {
    const c = nearestCentroid(centroids, k, dims, data, t * dims);
    const base = t * stride;
    out[base] = c & 0xff;
    out[base + 1] = c >>> 8;
    for (let j = 0; j < dims; j++) {
      const r = data[t * dims + j] - centroids[c * dims + j];
      let bucket = 0;
      while (bucket < cutoffs.length && r >= cutoffs[bucket]) bucket++;
      const bit = j * bits;
      out[base + 2 + (bit >>> 3)] |= bucket << (bit & 7);
    }
  }
}

/** Decodes `rows` tokens from `bytes` (at `offset`) into unit vectors. */
export function decodeResidual(codec: ResidualCodec, bytes: Uint8Array, offset: number, rows: number, out: Float32Array): void {
  const { dims, bits, centroids, weights } = codec;
  const stride = residualBytesPerToken(dims, bits);
  const mask = (1 << bits) - 1;
  for (let t = 0; t < rows; t++) {
    const base = offset + t * stride;
    const c = bytes[base] | (bytes[base + 1] << 8);
    const o = t * dims;
    for (let j = 0; j < dims; j++) {
      const bit = j * bits;
      const bucket = (bytes[base + 2 + (bit >>> 3)] >>> (bit & 7)) & mask;
      out[o + j] = centroids[c * dims + j] + weights[bucket];
    }
  }
  normalizeRows(out.subarray(0, rows * dims), dims);
}

/** The centroid id of each stored token (the retriever's postings are built from these). */
export function residualCentroidIds(codec: ResidualCodec, bytes: Uint8Array, offset: number, rows: number): Uint16Array {
  const stride = residualBytesPerToken(codec.dims, codec.bits);
  const ids = new Uint16Array(rows);
  for (let t = 0; t < rows; t++) ids[t] = bytes[offset + t * stride] | (bytes[offset + t * stride + 1] << 8);
  return ids;
}
