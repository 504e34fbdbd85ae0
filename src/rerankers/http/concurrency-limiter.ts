/**
 * Caps how many upstream calls run at once (per reranker), so a 1,000-document
 * request split into chunks, or an LLM sliding window, never floods a vendor.
 * Waiters are served first-in first-out.
 */
export class ConcurrencyLimiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Highest number of calls seen in flight together (for tests and metrics). */
  peak = 0;

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active++;
    this.peak = Math.max(this.peak, this.active);
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

/** Runs `task` over every item with at most `limiter.limit` in flight; results keep input order. */
export async function mapWithLimit<T, R>(items: readonly T[], limiter: ConcurrencyLimiter, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  return Promise.all(items.map((item, i) => limiter.run(() => task(item, i))));
}
