/**
 * The best k (document, score) pairs seen so far, ordered as every Winnow BM25
 * ranking is: score descending, then id rank ascending (the documents' ids in code
 * point order, Lucene's and trec_eval's tie order). A min-heap whose root is the
 * worst kept hit, so `threshold` is what a new hit must reach to enter.
 */
export class TopKHeap {
  private docsArr: Uint32Array;
  private scoresArr: Float64Array;
  private size = 0;

  constructor(
    private readonly k: number,
    /** Rank of each document in id order: the tie-breaker. */
    private readonly idRank: ArrayLike<number>,
  ) {
    // Sized lazily up to k so k = 10^6 over a 10-hit query does not allocate 10^6 slots up front.
    const initial = Math.min(k, 1024);
    this.docsArr = new Uint32Array(initial);
    this.scoresArr = new Float64Array(initial);
  }

  get full(): boolean {
    return this.size === this.k;
  }

  /** The score a hit must reach (ties then go by id rank) once full; -Infinity before. */
  get threshold(): number {
    return this.size === this.k ? this.scoresArr[0] : -Infinity;
  }

  /** Offers a hit; returns true when it entered. */
  offer(doc: number, score: number): boolean {
    if (this.size < this.k) {
      if (this.size === this.docsArr.length) this.grow();
      this.docsArr[this.size] = doc;
      this.scoresArr[this.size] = score;
      this.siftUp(this.size++);
      return true;
    }
    const s0 = this.scoresArr[0];
    if (score < s0 || (score === s0 && this.idRank[doc] > this.idRank[this.docsArr[0]])) return false;
    this.docsArr[0] = doc;
    this.scoresArr[0] = score;
    this.siftDown(0);
    return true;
  }

  /** Empties the heap into arrays, best first. */
  drain(): [Uint32Array, Float32Array] {
    const n = this.size;
    const outDocs = new Uint32Array(n);
    const outScores = new Float32Array(n);
    for (let i = n - 1; i >= 0; i--) {
      outDocs[i] = this.docsArr[0];
      outScores[i] = this.scoresArr[0];
      const last = --this.size;
      this.docsArr[0] = this.docsArr[last];
      this.scoresArr[0] = this.scoresArr[last];
      this.siftDown(0);
    }
    return [outDocs, outScores];
  }

  private grow(): void {
    const cap = Math.min(this.k, this.docsArr.length * 2);
    const d = new Uint32Array(cap);
    const s = new Float64Array(cap);
    d.set(this.docsArr);
    s.set(this.scoresArr);
    this.docsArr = d;
    this.scoresArr = s;
  }

  /** Whether slot i holds a worse hit than slot j. */
  private worse(i: number, j: number): boolean {
    const si = this.scoresArr[i];
    const sj = this.scoresArr[j];
    return si < sj || (si === sj && this.idRank[this.docsArr[i]] > this.idRank[this.docsArr[j]]);
  }

  private swap(i: number, j: number): void {
    const d = this.docsArr[i];
    this.docsArr[i] = this.docsArr[j];
    this.docsArr[j] = d;
    const s = this.scoresArr[i];
    this.scoresArr[i] = this.scoresArr[j];
    this.scoresArr[j] = s;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.worse(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.size;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) return;
      const r = l + 1;
      const m = r < n && this.worse(r, l) ? r : l;
      if (!this.worse(m, i)) return;
      this.swap(i, m);
      i = m;
    }
  }
}
