/**
 * Top-k by pairwise preference with a binary heap: heapify costs at most 2n
 * comparisons and each of the k pops at most 2·log2(n), so O(n + k log n) rather
 * than the n(n−1)/2 of all pairs (the PRP-heapsort variant of Qin et al., 2023).
 * `better(a, b)` must say whether candidate a should rank above b; it may be
 * inconsistent (LLMs are), the heap still terminates with k distinct winners.
 */
export async function heapTopK(n: number, k: number, better: (a: number, b: number) => Promise<boolean>): Promise<number[]> {
  const heap = Array.from({ length: n }, (_, i) => i);
  let size = n;
  const siftDown = async (at: number) => {
    let i = at;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let top = i;
      if (l < size && (await better(heap[l], heap[top]))) top = l;
      if (r < size && (await better(heap[r], heap[top]))) top = r;
      if (top === i) return;
      [heap[i], heap[top]] = [heap[top], heap[i]];
      i = top;
    }
  };
  // Heapify level by level from the bottom: sift-downs on one level touch disjoint
  // subtrees, so they run concurrently (an LLM round trip each), same comparisons.
  const lastParent = Math.floor(n / 2) - 1;
  for (let level = Math.floor(Math.log2(Math.max(1, lastParent + 1))); level >= 0; level--) {
    const first = 2 ** level - 1;
    const last = Math.min(lastParent, 2 ** (level + 1) - 2);
    const jobs: Array<Promise<void>> = [];
    for (let i = first; i <= last; i++) jobs.push(siftDown(i));
    await Promise.all(jobs);
  }
  const out: number[] = [];
  const want = Math.min(k, n);
  while (out.length < want) {
    out.push(heap[0]);
    size--;
    heap[0] = heap[size];
    if (size > 0) await siftDown(0);
  }
  return out;
}

/**
 * Remembers each pair's verdict so the heap never pays twice for the same
 * comparison, whichever order it asks in. `judge(a, b)` returns +1 when a wins, −1
 * when b wins, 0 for no preference; ties go to the better first-stage position
 * (the lower input index), so an undecided model leaves the first stage in charge.
 */
export class MemoizedComparator {
  private readonly memo = new Map<string, Promise<number>>();
  /** Distinct pairs judged. */
  comparisons = 0;

  constructor(private readonly judge: (a: number, b: number) => Promise<number>) {}

  async better(a: number, b: number): Promise<boolean> {
    const [lo, hi] = a < b ? [a, b] : [b, a];
    const key = `${lo}:${hi}`;
    let verdict = this.memo.get(key);
    if (!verdict) {
      this.comparisons++;
      verdict = this.judge(lo, hi);
      this.memo.set(key, verdict);
    }
    const v = await verdict; // from lo's point of view
    const loWins = v >= 0;
    return a === lo ? loWins : !loWins;
  }
}
