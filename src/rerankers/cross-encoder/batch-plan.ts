/**
 * Groups units into forward passes by a token budget. A batch is padded to its
 * longest row, so its cost (time and activation memory) is rows × longest; sorting
 * by length first keeps padding small, and the budget bounds memory however many
 * candidates a request has (a fixed count would let 100 long pairs take gigabytes).
 * Returns unit indices per batch, longest rows first.
 */
export function planBatches(lengths: ArrayLike<number>, batchTokens: number, maxBatchSize = Infinity): number[][] {
  const order = Array.from({ length: lengths.length }, (_, i) => i).sort((a, b) => lengths[b] - lengths[a] || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  let longest = 0;
  for (const i of order) {
    const len = lengths[i];
    const padded = (current.length + 1) * Math.max(longest, len);
    if (current.length > 0 && (padded > batchTokens || current.length >= maxBatchSize)) {
      batches.push(current);
      current = [];
      longest = 0;
    }
    current.push(i);
    longest = Math.max(longest, len);
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
