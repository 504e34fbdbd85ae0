/**
 * Pre-binning of feature columns for histogram split finding: each feature's values are
 * mapped to at most `maxBins - 1` quantile bins (bin 0 holds missing values), so finding
 * the best split of a node is one pass over its rows plus one pass over <= 255 bins per
 * feature, instead of a sort per node.
 */
export interface BinnedFeatures {
  rows: number;
  featureCount: number;
  /** Column-major: bins[f * rows + i] is row i's bin for feature f. */
  bins: Uint8Array;
  /** upperBounds[f][b - 1] is the largest value in bin b of feature f (bin 0 = NaN). */
  upperBounds: Float64Array[];
}

/** Upper bounds of quantile bins for one column (NaNs ignored). */
export function quantileUpperBounds(values: Float64Array, maxBins: number): Float64Array {
  const present = values.filter((v) => !Number.isNaN(v));
  present.sort();
  const distinct: number[] = [];
  for (let i = 0; i < present.length; i++) if (i === 0 || present[i] !== present[i - 1]) distinct.push(present[i]);
  const limit = maxBins - 1; // bin 0 is reserved for missing values
  if (distinct.length <= limit) return Float64Array.from(distinct);
  // Quantile cut points over the value distribution (not the distinct values), so dense
  // regions get fine bins; deduplicated because heavy ties collapse neighbouring cuts.
  const bounds: number[] = [];
  for (let b = 1; b <= limit; b++) {
    const pos = Math.min(present.length - 1, Math.ceil((b * present.length) / limit) - 1);
    const v = present[pos];
    if (bounds.length === 0 || v > bounds[bounds.length - 1]) bounds.push(v);
  }
  bounds[bounds.length - 1] = present[present.length - 1];
  return Float64Array.from(bounds);
}

/** The bin of value v: 0 for NaN, else 1 + the first upper bound >= v (values above the last bound go to the last bin). */
export function binOf(upper: Float64Array, v: number): number {
  if (Number.isNaN(v)) return 0;
  let lo = 0;
  let hi = upper.length - 1;
  if (hi < 0) return 0;
  if (v > upper[hi]) return hi + 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (upper[mid] >= v) hi = mid;
    else lo = mid + 1;
  }
  return lo + 1;
}

export function binFeatures(features: Float64Array, rows: number, featureCount: number, maxBins: number): BinnedFeatures {
  const bins = new Uint8Array(rows * featureCount);
  const upperBounds: Float64Array[] = [];
  const column = new Float64Array(rows);
  for (let f = 0; f < featureCount; f++) {
    for (let i = 0; i < rows; i++) column[i] = features[i * featureCount + f];
    const upper = quantileUpperBounds(column, maxBins);
    upperBounds.push(upper);
    const base = f * rows;
    for (let i = 0; i < rows; i++) bins[base + i] = binOf(upper, column[i]);
  }
  return { rows, featureCount, bins, upperBounds };
}
