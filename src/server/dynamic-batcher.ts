import { WinnowError } from "../core/errors.js";
import type { BatchScorer, ScoringUnit } from "../core/batch-scorer.js";

/**
 * How much remaining work outweighs waiting time in the order requests are served:
 * with 4, a newcomer goes ahead of a running request only during the first 80% of
 * that request's service, so a big request is never starved and a small one waits at
 * most about a fifth of a big one's time.
 */
export const SHORT_FIRST_WEIGHT = 4;

/** All the batcher needs of a model: one forward pass over a list of units. */
export type UnitScorer<U extends ScoringUnit> = Pick<BatchScorer<U>, "scoreUnits">;

/** What one request got back from the batcher. */
export interface BatchedScores {
  /** Raw logits, one per unit, in the order submitted. */
  logits: Float32Array;
  /** From submission until the first of its units entered a forward pass. */
  queueMs: number;
  /** Sum of the durations of the forward passes that carried its units. */
  inferenceMs: number;
  /** Forward passes its units were spread over. */
  batches: number;
}

export interface BatchObserver {
  onBatch?(info: { pairs: number; requests: number; tokens: number; paddedTokens: number; ms: number }): void;
  onBatchError?(err: unknown): void;
  /**
   * Pairs scored for a request that then failed (deadline, disconnect, shutdown, a failed
   * pass): work nobody reads. Reported as they are known: at the cancel for pairs already
   * scored, when the pass ends for pairs that were in it.
   */
  onWasted?(pairs: number): void;
}

export interface DynamicBatcherOptions {
  /** Padded token budget of one forward pass: pairs × longest pair. */
  maxBatchTokens: number;
  maxBatchPairs: number;
  /** Units waiting or reserved (not yet in a forward pass) beyond which submissions are refused with QUEUE_FULL. */
  maxQueuedPairs: number;
  /**
   * Refuse (QUEUE_FULL) a request whose expected finish — the work queued ahead of it
   * plus its own, at the measured ms per unit — is further away than this: it would
   * pass its deadline anyway, after taking forward passes others could have used.
   * Unset: only maxQueuedPairs bounds the queue.
   */
  maxQueueMs?: number;
  /**
   * Forward passes handed to the scorer at once (default 1). 2 for a scorer that runs
   * its passes one after another on another thread (a model worker): the next pass is
   * already waiting there when one ends, so the model never idles while this thread's
   * event loop is busy (parsing, refusing a flood) before it can hand over the next.
   */
  passesInFlight?: number;
  observer?: BatchObserver;
}

interface Job<U extends ScoringUnit> {
  units: readonly U[];
  /** Unit indices, longest first: the order units are handed out in. */
  order: Uint32Array;
  /** Position in `order` of the next unit not yet handed to a forward pass. */
  next: number;
  scored: number;
  logits: Float32Array;
  enqueuedAt: number;
  firstDispatchAt: number | undefined;
  inferenceMs: number;
  batches: number;
  settled: boolean;
  resolve(r: BatchedScores): void;
  reject(err: unknown): void;
  detach(): void;
}

/**
 * Schedules scoring units from many requests into shared forward passes.
 *
 * Order: each batch is filled from the waiting requests in order of
 * `arrival + SHORT_FIRST_WEIGHT × (its remaining units × measured ms per unit)`, an aged
 * shortest-remaining-work-first. A small request that arrives behind a huge one is
 * served at the next batch boundary instead of waiting for the whole big one (which
 * is spread over many batches); requests of similar size finish one after another in
 * arrival order. Round-robin sharing was tried first and measured badly: with N
 * equal requests waiting, every one of them finished only after about N × its own
 * service time (at 32 connections and a 16-request queue, none of the 100-document
 * requests completed within a 15 s run), where finishing them in turn gives the
 * same throughput with most requests done much sooner. The aging term keeps a big
 * request from starving: once it has run for 1 / (1 + weight) of its service time,
 * a newcomer of any size waits for it.
 *
 * One forward pass runs at a time: ONNX Runtime already uses every core for one
 * pass, and a second concurrent pass would only contend for them.
 *
 * The budget counts padded tokens (pairs × the longest pair in the batch) because
 * that, not the sum of real tokens, is what a padded BERT forward pass costs. Each
 * request hands out its units longest first, so a batch topped up from a second
 * request takes that request's longest units next to similar ones, keeping padding low.
 */
export class DynamicBatcher<U extends ScoringUnit = ScoringUnit> {
  private readonly waiting: Job<U>[] = [];
  /** Moving average of forward-pass milliseconds per unit: turns remaining units into remaining time. */
  private msPerUnit = 1;
  /** Whether msPerUnit comes from a pass (the deadline check trusts nothing else). */
  private measured = false;
  /** Units handed to the scorer and not yet scored. */
  private dispatched = 0;
  /** When the last pass ended: a pass handed over while another ran starts when that one ends. */
  private lastPassEnd = 0;
  private queued = 0;
  /** Units held by requests that passed the capacity check and are still being tokenized. */
  private reserved = 0;
  /** Moving average of units per admitted request: what the next request will likely need. */
  private typicalRequestUnits: number | undefined;
  private inFlight = 0;
  private closed = false;

  constructor(
    private readonly scorer: UnitScorer<U>,
    private readonly options: DynamicBatcherOptions,
  ) {}

  /** Units waiting for a forward pass (not counting the one running), including reservations. */
  get queuedPairs(): number {
    return this.queued + this.reserved;
  }

  /**
   * Whether a typical request (by the moving average of admitted sizes) would be refused
   * now. The server checks this before reading a body: a queue with 5 free pairs refuses
   * every 100-document request, and reading and parsing each of them first costs the
   * main thread its time and heap (measured under a 32-connection flood: 13,000 bodies
   * parsed and refused in 12 s, main heap 33 → 80 MB).
   */
  get likelyFull(): boolean {
    const typical = Math.max(1, Math.round(this.typicalRequestUnits ?? 1));
    if (this.queuedPairs + typical > this.options.maxQueuedPairs) return true;
    const expectedMs = this.expectedFinishMs(typical);
    return expectedMs !== undefined && expectedMs > this.options.maxQueueMs!;
  }

  /** Requests with units still waiting. */
  get queuedRequests(): number {
    return this.waiting.length;
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** Throws QUEUE_FULL (or PAYLOAD_TOO_LARGE) unless `units` more would fit in the queue now. */
  checkCapacity(units: number): void {
    this.checkSize(units);
    const { maxQueuedPairs } = this.options;
    const queued = this.queuedPairs;
    if (queued + units > maxQueuedPairs) {
      throw new WinnowError("QUEUE_FULL", `the queue is full (${queued} of ${maxQueuedPairs} pairs waiting); retry later`, {
        details: { limit: maxQueuedPairs, queued, requested: units },
      });
    }
    const expectedMs = this.expectedFinishMs(units);
    if (expectedMs !== undefined && expectedMs > this.options.maxQueueMs!) {
      throw new WinnowError(
        "QUEUE_FULL",
        `the queue is full: this request would finish in about ${Math.round(expectedMs)} ms (${queued} pairs waiting), past its ${this.options.maxQueueMs} ms deadline (limits.requestTimeoutMs); retry later`,
        { details: { limit: maxQueuedPairs, queued, requested: units, expectedMs: Math.round(expectedMs) } },
      );
    }
  }

  /** PAYLOAD_TOO_LARGE for a request the queue could never hold. */
  private checkSize(units: number): void {
    const { maxQueuedPairs } = this.options;
    if (units > maxQueuedPairs) {
      throw new WinnowError(
        "PAYLOAD_TOO_LARGE",
        `documents: the request needs ${units} scoring units (documents × chunks), more than the queue holds (maxQueuedPairs ${maxQueuedPairs})`,
        { details: { field: "documents", limit: maxQueuedPairs, actual: units } },
      );
    }
  }

  /** When `units` more submitted now would be done, by the measured rate; undefined without a maxQueueMs or a measurement. */
  private expectedFinishMs(units: number): number | undefined {
    if (this.options.maxQueueMs === undefined || !this.measured) return undefined;
    return (this.dispatched + this.queuedPairs + units) * this.msPerUnit;
  }

  /**
   * Holds `units` of queue space while a request is tokenized, so that requests which
   * passed the capacity check but are not yet submitted count against the limit.
   * Without it, a flood admits every request that arrives while the first ones are
   * tokenizing; their tokenization then queues ahead of the forward passes in the model
   * worker and scoring stalls (measured: 27 passes in 12 s at 32 connections, then none).
   * Throws like `checkCapacity`; returns the release (idempotent). Release right before
   * `submit(…, { reserved: true })`, with no await between, so the space cannot be taken
   * in between.
   */
  reserve(units: number): () => void {
    this.checkCapacity(units);
    this.typicalRequestUnits = this.typicalRequestUnits === undefined ? units : 0.8 * this.typicalRequestUnits + 0.2 * units;
    this.reserved += units;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      this.reserved -= units;
    };
  }

  /**
   * Queues `units` for scoring. `reserved`: the request was admitted by `reserve` before
   * it was tokenized, so only its size is checked now: refusing it here, after the model
   * worker spent time tokenizing it, because its windows outnumber its documents or the
   * queue's measured rate moved meanwhile, would waste that work.
   */
  submit(units: readonly U[], signal?: AbortSignal, options: { reserved?: boolean } = {}): Promise<BatchedScores> {
    if (this.closed) {
      return Promise.reject(new WinnowError("UNAVAILABLE", "the server is shutting down; retry"));
    }
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    try {
      if (options.reserved) this.checkSize(units.length);
      else this.checkCapacity(units.length);
    } catch (err) {
      return Promise.reject(err);
    }
    const enqueuedAt = performance.now();
    if (units.length === 0) {
      return Promise.resolve({ logits: new Float32Array(0), queueMs: 0, inferenceMs: 0, batches: 0 });
    }
    return new Promise<BatchedScores>((resolve, reject) => {
      const onAbort = () => this.cancel(job, abortReason(signal!));
      const order = Uint32Array.from(units.keys()).sort((a, b) => units[b].tokens - units[a].tokens || a - b);
      const job: Job<U> = {
        units,
        order,
        next: 0,
        scored: 0,
        logits: new Float32Array(units.length),
        enqueuedAt,
        firstDispatchAt: undefined,
        inferenceMs: 0,
        batches: 0,
        settled: false,
        resolve,
        reject,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(job);
      this.queued += units.length;
      this.pump();
    });
  }

  /** Refuses new work and fails what is still waiting (in-flight passes finish). */
  close(): void {
    this.closed = true;
    for (const job of [...this.waiting]) this.cancel(job, new WinnowError("UNAVAILABLE", "the server is shutting down; retry"));
  }

  private cancel(job: Job<U>, reason: unknown): void {
    if (job.settled) return;
    this.dropFromQueue(job);
    this.settle(job, undefined, reason);
    if (job.scored > 0) this.options.observer?.onWasted?.(job.scored);
  }

  private dropFromQueue(job: Job<U>): void {
    const at = this.waiting.indexOf(job);
    if (at >= 0) {
      this.waiting.splice(at, 1);
      this.queued -= job.units.length - job.next;
      job.next = job.units.length;
    }
  }

  private settle(job: Job<U>, result: BatchedScores | undefined, err?: unknown): void {
    if (job.settled) return;
    job.settled = true;
    job.detach();
    if (result) job.resolve(result);
    else job.reject(err);
  }

  /** Lower goes first: arrival time plus the weighted time its remaining units will take. */
  private priority(job: Job<U>): number {
    return job.enqueuedAt + SHORT_FIRST_WEIGHT * (job.units.length - job.next) * this.msPerUnit;
  }

  private takeBatch(): { units: U[]; from: Array<{ job: Job<U>; unit: number }>; tokens: number; padded: number } {
    const { maxBatchTokens, maxBatchPairs } = this.options;
    const units: U[] = [];
    const from: Array<{ job: Job<U>; unit: number }> = [];
    let longest = 0;
    let tokens = 0;
    const ranked = this.waiting.map((job) => ({ job, key: this.priority(job) })).sort((a, b) => a.key - b.key);
    fill: for (const { job } of ranked) {
      while (job.next < job.units.length) {
        if (units.length >= maxBatchPairs) break fill;
        const unitIndex = job.order[job.next];
        const u = job.units[unitIndex];
        const nextLongest = Math.max(longest, u.tokens);
        // The first unit always goes in, so one over-long pair cannot wedge the queue.
        if (units.length > 0 && nextLongest * (units.length + 1) > maxBatchTokens) break fill;
        longest = nextLongest;
        tokens += u.tokens;
        units.push(u);
        from.push({ job, unit: unitIndex });
        job.next++;
        this.queued--;
        job.firstDispatchAt ??= performance.now();
      }
    }
    // Jobs whose units are all dispatched leave the waiting list (they may still be scoring).
    for (let j = this.waiting.length - 1; j >= 0; j--) {
      if (this.waiting[j].next >= this.waiting[j].units.length) this.waiting.splice(j, 1);
    }
    return { units, from, tokens, padded: longest * units.length };
  }

  private pump(): void {
    while (this.inFlight < (this.options.passesInFlight ?? 1) && this.waiting.length > 0) {
      if (!this.dispatch()) return;
    }
  }

  /** Hands one batch to the scorer; false when there was nothing to take. */
  private dispatch(): boolean {
    const batch = this.takeBatch();
    if (batch.units.length === 0) return false;
    this.inFlight++;
    this.dispatched += batch.units.length;
    const handedOver = performance.now();
    const jobs = new Set(batch.from.map((f) => f.job));
    this.scorer.scoreUnits(batch.units).then(
      (logits) => {
        const now = performance.now();
        // Passes run one after another: one handed over while another ran began when that one ended.
        const started = Math.max(handedOver, this.lastPassEnd);
        this.lastPassEnd = now;
        const ms = now - started;
        this.msPerUnit = this.measured ? 0.8 * this.msPerUnit + 0.2 * (ms / batch.units.length) : ms / batch.units.length;
        this.measured = true;
        this.options.observer?.onBatch?.({ pairs: batch.units.length, requests: jobs.size, tokens: batch.tokens, paddedTokens: batch.padded, ms });
        for (const job of jobs) {
          job.inferenceMs += ms;
          job.batches++;
        }
        let wasted = 0;
        for (let i = 0; i < batch.from.length; i++) {
          const { job, unit } = batch.from[i];
          if (job.settled) {
            wasted++;
            continue;
          }
          job.logits[unit] = logits[i];
          job.scored++;
          if (job.scored === job.units.length) {
            this.settle(job, {
              logits: job.logits,
              queueMs: (job.firstDispatchAt ?? handedOver) - job.enqueuedAt,
              inferenceMs: job.inferenceMs,
              batches: job.batches,
            });
          }
        }
        if (wasted > 0) this.options.observer?.onWasted?.(wasted);
      },
      (err) => {
        this.options.observer?.onBatchError?.(err);
        // A failed pass fails every request that had units in it; their other units are dropped.
        for (const job of jobs) this.cancel(job, err);
      },
    ).finally(() => {
      this.inFlight--;
      this.dispatched -= batch.units.length;
      // Let I/O callbacks (new requests, health checks) run before assembling the next batch.
      setImmediate(() => this.pump());
    });
    return true;
  }
}

function abortReason(signal: AbortSignal): unknown {
  const r = signal.reason;
  if (r instanceof WinnowError) return r;
  return new WinnowError("ABORTED", "request cancelled", { cause: r });
}
