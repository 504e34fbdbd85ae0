/**
 * Puts the k smallest of keys[0, n) into keys[0, k) in ascending order: quickselect,
 * then quicksort of the kept part only. Hand-written because the native
 * Float64Array.prototype.sort measured about 80 ns per element on 2,500 keys (a
 * typical SciFact query), several times the cost of scoring the query; keys here are
 * distinct, so no equal-key handling is needed. Returns min(k, n).
 */
export function smallestK(keys: Float64Array, n: number, k: number): number {
  const size = Math.min(k, n);
  if (size <= 0) return 0;
  if (size < n) select(keys, 0, n - 1, size - 1);
  sortRange(keys, 0, size - 1);
  return size;
}

function swap(a: Float64Array, i: number, j: number): void {
  const t = a[i];
  a[i] = a[j];
  a[j] = t;
}

/** Median of three moved to `hi`, then Lomuto partition; returns the pivot's final index. */
function partition(a: Float64Array, lo: number, hi: number): number {
  const mid = lo + ((hi - lo) >> 1);
  if (a[mid] < a[lo]) swap(a, mid, lo);
  if (a[hi] < a[lo]) swap(a, hi, lo);
  if (a[mid] < a[hi]) swap(a, mid, hi);
  const pivot = a[hi];
  let store = lo;
  for (let i = lo; i < hi; i++) {
    if (a[i] < pivot) {
      swap(a, i, store);
      store++;
    }
  }
  swap(a, store, hi);
  return store;
}

/** Rearranges a[lo..hi] so that a[nth] is where sorting would put it, smaller keys before. */
function select(a: Float64Array, lo: number, hi: number, nth: number): void {
  while (hi > lo) {
    const p = partition(a, lo, hi);
    if (p === nth) return;
    if (p < nth) lo = p + 1;
    else hi = p - 1;
  }
}

function sortRange(a: Float64Array, lo: number, hi: number): void {
  while (hi - lo > 16) {
    const p = partition(a, lo, hi);
    // Recurse into the smaller side, loop on the larger: stack depth stays O(log n).
    if (p - lo < hi - p) {
      sortRange(a, lo, p - 1);
      lo = p + 1;
    } else {
      sortRange(a, p + 1, hi);
      hi = p - 1;
    }
  }
  for (let i = lo + 1; i <= hi; i++) {
    const x = a[i];
    let j = i - 1;
    while (j >= lo && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}
