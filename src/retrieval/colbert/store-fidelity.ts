import { kendallTau } from "../../onnx/fidelity.js";
import { maxSim } from "../../rerankers/colbert/maxsim.js";
import type { TokenMatrix } from "../../rerankers/colbert/token-matrix.js";
import type { TokenStore } from "./token-store.js";

export interface StoreFidelity {
  /** Mean over queries of Kendall τ between MaxSim scores from the store and from exact vectors. */
  kendallTau: number;
  /** Worst query's τ. */
  minKendallTau: number;
  /** Mean |score difference| / query tokens (per-token cosine error). */
  meanAbsError: number;
  queries: number;
  candidates: number;
}

/**
 * How faithfully a (compressed, pooled) store ranks: for each query, MaxSim over the
 * same candidates with the store's vectors and with the exact ones, compared by
 * Kendall τ. `candidates[q]` are store positions (a first stage's candidates).
 */
export function measureStoreFidelity(store: TokenStore, exact: readonly TokenMatrix[], queries: readonly TokenMatrix[], candidates: readonly (readonly number[])[]): StoreFidelity {
  let tauSum = 0;
  let tauMin = Infinity;
  let err = 0;
  let count = 0;
  const cache = new Map<number, TokenMatrix>();
  const stored = (i: number) => {
    let m = cache.get(i);
    if (!m) cache.set(i, (m = store.vectorsAt(i)));
    return m;
  };
  queries.forEach((q, k) => {
    const list = candidates[k];
    const a = list.map((i) => maxSim(q, exact[i].data, exact[i].rows));
    const b = list.map((i) => {
      const m = stored(i);
      return maxSim(q, m.data, m.rows);
    });
    const tau = kendallTau(a, b);
    tauSum += tau;
    tauMin = Math.min(tauMin, tau);
    a.forEach((x, j) => (err += Math.abs(x - b[j]) / q.rows));
    count += list.length;
  });
  return { kendallTau: tauSum / queries.length, minKendallTau: tauMin, meanAbsError: err / count, queries: queries.length, candidates: count / queries.length };
}
