import { normalizeRows, type TokenMatrix } from "../../rerankers/colbert/token-matrix.js";

/**
 * Token pooling (Clavié et al., "Reducing the Footprint of Multi-Vector Retrieval with
 * Minimal Performance Impact via Token Pooling", 2024; answerai's implementation pools
 * with hierarchical clustering into ⌈tokens / factor⌉ clusters and stores each
 * cluster's mean): a document's similar tokens are merged, so the store holds about
 * 1/factor of the vectors. Here: average-linkage agglomerative clustering on dot
 * products. Average linkage of dot products is the dot product of the clusters' means,
 * so merging clusters a and b updates the similarity to c as the size-weighted mean of
 * sim(a,c) and sim(b,c): O(n²) memory and O(n³) time per document without touching
 * the vectors again (n ≤ the model's doc length, 180–300). Means are re-normalized
 * (MaxSim reads unit vectors).
 */
export function poolTokens(doc: TokenMatrix, factor: number): TokenMatrix {
  const n = doc.rows;
  const d = doc.dims;
  const target = Math.max(1, Math.ceil(n / factor));
  if (n <= target) return doc;
  const sim = new Float64Array(n * n);
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += doc.data[a * d + j] * doc.data[b * d + j];
      sim[a * n + b] = s;
      sim[b * n + a] = s;
    }
  }
  const size = new Int32Array(n).fill(1);
  const alive = new Uint8Array(n).fill(1);
  const owner = Int32Array.from({ length: n }, (_, i) => i);
  for (let clusters = n; clusters > target; clusters--) {
    let bestA = -1;
    let bestB = -1;
    let best = -Infinity;
    for (let a = 0; a < n; a++) {
      if (!alive[a]) continue;
      for (let b = a + 1; b < n; b++) {
        if (alive[b] && sim[a * n + b] > best) {
          best = sim[a * n + b];
          bestA = a;
          bestB = b;
        }
      }
    }
    const sa = size[bestA];
    const sb = size[bestB];
    for (let c = 0; c < n; c++) {
      if (!alive[c] || c === bestA || c === bestB) continue;
      const v = (sa * sim[bestA * n + c] + sb * sim[bestB * n + c]) / (sa + sb);
      sim[bestA * n + c] = v;
      sim[c * n + bestA] = v;
    }
    size[bestA] = sa + sb;
    alive[bestB] = 0;
    for (let t = 0; t < n; t++) if (owner[t] === bestB) owner[t] = bestA;
  }
  const slot = new Int32Array(n).fill(-1);
  let rows = 0;
  for (let t = 0; t < n; t++) if (alive[t]) slot[t] = rows++;
  const data = new Float32Array(rows * d);
  for (let t = 0; t < n; t++) {
    const r = slot[owner[t]];
    for (let j = 0; j < d; j++) data[r * d + j] += doc.data[t * d + j];
  }
  normalizeRows(data, d);
  return { rows, dims: d, data };
}
