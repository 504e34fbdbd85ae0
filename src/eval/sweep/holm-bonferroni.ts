/**
 * Holm–Bonferroni adjusted p-values: a sweep compares many (reranker, candidates) rows with
 * the same first stage, and with 20 rows one of them beats it "at p < 0.05" by chance alone
 * more often than not. Holm's step-down keeps the chance of any false "beats the first
 * stage" at most α over the whole family, and is uniformly more powerful than plain
 * Bonferroni: the i-th smallest p (1-based, of m) is multiplied by m − i + 1, then made
 * non-decreasing in that order and capped at 1. Adjusted p < α ⇔ Holm's procedure rejects.
 */
export function holmAdjusted(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const key = (i: number) => (Number.isFinite(pValues[i]) ? pValues[i] : Infinity);
  const order = pValues.map((_, i) => i).sort((a, b) => key(a) - key(b) || a - b);
  const out = new Array<number>(m);
  let running = 0;
  order.forEach((i, rank) => {
    // NaN (no p-value) sorts last and stays NaN; it still counts in m (the conservative side).
    const p = pValues[i];
    if (!Number.isFinite(p)) {
      out[i] = NaN;
      return;
    }
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}
