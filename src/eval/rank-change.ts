/**
 * How much a reranker changed the order the first stage sent, from the indices it
 * returned (best first) into the input list: what the server exports per model, so a
 * team sees in production whether reranking does anything at all.
 */
export interface RankChange {
  /** Results compared (the returned top n). */
  n: number;
  /** Share of the returned top n that were in the input's top n (1: same set). */
  topOverlap: number;
  /**
   * Kendall's tau between the returned order and the input order of the same n
   * documents: 1 kept, −1 reversed; null for fewer than 2 results.
   */
  kendallTau: number | null;
  /** Mean |returned rank − input rank| over the returned top n, in positions. */
  meanDisplacement: number;
}

/** Inversions of a permutation-like array by merge sort: O(n log n), the discordant pairs of Kendall's tau. */
function countInversions(values: number[]): number {
  const n = values.length;
  let buffer = new Array<number>(n);
  let a = values.slice();
  let inversions = 0;
  for (let width = 1; width < n; width *= 2) {
    for (let lo = 0; lo < n; lo += 2 * width) {
      const mid = Math.min(lo + width, n);
      const hi = Math.min(lo + 2 * width, n);
      let i = lo;
      let j = mid;
      let k = lo;
      while (i < mid && j < hi) {
        if (a[i] <= a[j]) buffer[k++] = a[i++];
        else {
          inversions += mid - i;
          buffer[k++] = a[j++];
        }
      }
      while (i < mid) buffer[k++] = a[i++];
      while (j < hi) buffer[k++] = a[j++];
    }
    [a, buffer] = [buffer, a];
  }
  return inversions;
}

/**
 * The change between the input order (index 0 first) and the returned `indices`, best
 * first. Indices are distinct, so Kendall's tau has no ties: τ = 1 − 4·inversions / (n(n−1)).
 */
export function rankChange(indices: readonly number[]): RankChange {
  const n = indices.length;
  if (n === 0) return { n: 0, topOverlap: 1, kendallTau: null, meanDisplacement: 0 };
  let inTop = 0;
  let displacement = 0;
  for (let rank = 0; rank < n; rank++) {
    const index = indices[rank];
    if (index < n) inTop++;
    displacement += Math.abs(rank - index);
  }
  const kendallTau = n < 2 ? null : 1 - (4 * countInversions([...indices])) / (n * (n - 1));
  return { n, topOverlap: inTop / n, kendallTau, meanDisplacement: displacement / n };
}
