import type { TokenMatrix } from "./token-matrix.js";

/**
 * MaxSim, late interaction's score (ColBERT, Khattab & Zaharia 2020): for each query
 * token, the best dot product over the document's tokens, summed over query tokens.
 *
 * Hand-written over Float32Array rather than taken from a library: it is the product's
 * core (every stored-vector rerank and the retriever's exact stage run it), there is no
 * maintained JS BLAS, and calling into ONNX Runtime per candidate costs more than the
 * arithmetic for one document. The loop is blocked 4 query rows × 2 document rows, so
 * each loaded value feeds several multiply-adds (6 loads per 8 MACs instead of 2 per 1)
 * and the 8 accumulators stay in registers; V8 keeps them as doubles, which also makes
 * the sum exact to well below float32 rounding. bench/colbert.ts measures it.
 */
export function maxSim(query: TokenMatrix, doc: Float32Array, docRows: number, docOffset = 0): number {
  const d = query.dims;
  const q = query.data;
  const nq = query.rows;
  if (docRows === 0) return 0;
  let total = 0;
  let i = 0;
  for (; i + 4 <= nq; i += 4) {
    const q0 = i * d;
    const q1 = q0 + d;
    const q2 = q1 + d;
    const q3 = q2 + d;
    let m0 = -Infinity;
    let m1 = -Infinity;
    let m2 = -Infinity;
    let m3 = -Infinity;
    let t = 0;
    for (; t + 2 <= docRows; t += 2) {
      const a = docOffset + t * d;
      const b = a + d;
      let s0a = 0, s1a = 0, s2a = 0, s3a = 0;
      let s0b = 0, s1b = 0, s2b = 0, s3b = 0;
      for (let j = 0; j < d; j++) {
        const da = doc[a + j];
        const db = doc[b + j];
        const x0 = q[q0 + j];
        const x1 = q[q1 + j];
        const x2 = q[q2 + j];
        const x3 = q[q3 + j];
        s0a += x0 * da;
        s1a += x1 * da;
        s2a += x2 * da;
        s3a += x3 * da;
        s0b += x0 * db;
        s1b += x1 * db;
        s2b += x2 * db;
        s3b += x3 * db;
      }
      if (s0a > m0) m0 = s0a;
      if (s0b > m0) m0 = s0b;
      if (s1a > m1) m1 = s1a;
      if (s1b > m1) m1 = s1b;
      if (s2a > m2) m2 = s2a;
      if (s2b > m2) m2 = s2b;
      if (s3a > m3) m3 = s3a;
      if (s3b > m3) m3 = s3b;
    }
    if (t < docRows) {
      const a = docOffset + t * d;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let j = 0; j < d; j++) {
        const da = doc[a + j];
        s0 += q[q0 + j] * da;
        s1 += q[q1 + j] * da;
        s2 += q[q2 + j] * da;
        s3 += q[q3 + j] * da;
      }
      if (s0 > m0) m0 = s0;
      if (s1 > m1) m1 = s1;
      if (s2 > m2) m2 = s2;
      if (s3 > m3) m3 = s3;
    }
    total += m0 + m1 + m2 + m3;
  }
  for (; i < nq; i++) {
    const q0 = i * d;
    let m = -Infinity;
    for (let t = 0; t < docRows; t++) {
      const a = docOffset + t * d;
      let s = 0;
      for (let j = 0; j < d; j++) s += q[q0 + j] * doc[a + j];
      if (s > m) m = s;
    }
    total += m;
  }
  return total;
}

/** The same score, written plainly: the reference the blocked kernel is tested against. */
export function maxSimReference(query: TokenMatrix, doc: TokenMatrix): number {
  let total = 0;
  for (let i = 0; i < query.rows; i++) {
    let best = -Infinity;
    for (let t = 0; t < doc.rows; t++) {
      let s = 0;
      for (let j = 0; j < query.dims; j++) s += query.data[i * query.dims + j] * doc.data[t * doc.dims + j];
      best = Math.max(best, s);
    }
    total += doc.rows === 0 ? 0 : best;
  }
  return total;
}
