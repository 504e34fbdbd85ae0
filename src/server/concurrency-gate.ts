import { WinnowError } from "../core/errors.js";

interface Waiter {
  weight: number;
  resolve(release: () => void): void;
  reject(err: unknown): void;
  detach(): void;
}

/**
 * Admits at most `limit` requests at a time to a reranker that cannot batch across
 * requests (LLM, hosted API, learned…). Waiting work is bounded by a pair budget, so a
 * flood answers QUEUE_FULL instead of growing memory; a waiter whose signal fires
 * leaves the line at once.
 */
export class ConcurrencyGate {
  private active = 0;
  private waitingWeight = 0;
  private readonly line: Waiter[] = [];

  constructor(
    private readonly limit: number,
    private readonly maxQueuedPairs: number,
  ) {}

  get queuedPairs(): number {
    return this.waitingWeight;
  }

  get inFlight(): number {
    return this.active;
  }

  /** Resolves with a release function once a slot is free. `weight` is the request's pair count. */
  acquire(weight: number, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(reasonOf(signal));
    if (this.active < this.limit && this.line.length === 0) {
      this.active++;
      return Promise.resolve(this.releaser());
    }
    if (weight > this.maxQueuedPairs) {
      return Promise.reject(
        new WinnowError("PAYLOAD_TOO_LARGE", `documents: ${weight} documents exceed what the queue holds (maxQueuedPairs ${this.maxQueuedPairs})`, {
          details: { field: "documents", limit: this.maxQueuedPairs, actual: weight },
        }),
      );
    }
    if (this.waitingWeight + weight > this.maxQueuedPairs) {
      return Promise.reject(
        new WinnowError("QUEUE_FULL", `the queue is full (${this.waitingWeight} of ${this.maxQueuedPairs} pairs waiting); retry later`, {
          details: { limit: this.maxQueuedPairs, queued: this.waitingWeight, requested: weight },
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.line.indexOf(waiter);
        if (at >= 0) {
          this.line.splice(at, 1);
          this.waitingWeight -= weight;
        }
        reject(reasonOf(signal!));
      };
      const waiter: Waiter = {
        weight,
        resolve,
        reject,
        detach: () => signal?.removeEventListener("abort", onAbort),
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.line.push(waiter);
      this.waitingWeight += weight;
    });
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      const next = this.line.shift();
      if (next) {
        this.waitingWeight -= next.weight;
        next.detach();
        this.active++;
        next.resolve(this.releaser());
      }
    };
  }
}

function reasonOf(signal: AbortSignal): unknown {
  return signal.reason instanceof WinnowError ? signal.reason : new WinnowError("ABORTED", "request cancelled", { cause: signal.reason });
}
