import { WinnowError, throwIfAborted } from "../../core/errors.js";
import { bodyExcerpt, malformedResponseError, upstreamStatusError } from "./upstream-error.js";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, isRetryableStatus, parseRetryAfterMs, type RetryPolicy } from "./retry-policy.js";

export interface JsonClientOptions {
  /** Label used in errors and logs, e.g. "cohere". Never put a key here. */
  upstream: string;
  /** Per-attempt deadline, covering connect, headers and body. */
  timeoutMs: number;
  retry?: Partial<RetryPolicy>;
  /** Sent with every request (auth goes here). */
  headers?: Record<string, string>;
  /** Values scrubbed from any text we surface (the API key). */
  secrets?: readonly string[];
  /** Test seam: deterministic jitter. */
  random?: () => number;
}

export interface JsonResponse {
  status: number;
  body: unknown;
  /** The raw text, kept for error excerpts. */
  text: string;
  attempts: number;
}

export interface RetryEvent {
  attempt: number;
  delayMs: number;
  reason: string;
}

export interface PostOptions {
  signal?: AbortSignal;
  onRetry?: (event: RetryEvent) => void;
}

/**
 * POSTs JSON with a per-attempt timeout and retries (exponential backoff with full
 * jitter; `Retry-After` honoured and capped) on 429, 5xx, timeouts and network
 * errors. Other 4xx fail at once: repeating a bad request cannot fix it. Every
 * failure is a typed WinnowError (UPSTREAM_ERROR, RATE_LIMITED, TIMEOUT, ABORTED)
 * carrying the status and a short, key-free excerpt of the body.
 */
export class JsonHttpClient {
  readonly policy: RetryPolicy;
  private readonly secrets: readonly string[];

  constructor(private readonly options: JsonClientOptions) {
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.secrets = options.secrets ?? [];
  }

  async postJson(url: string, payload: unknown, options: PostOptions = {}): Promise<JsonResponse> {
    const { signal } = options;
    const { upstream, timeoutMs } = this.options;
    const body = JSON.stringify(payload);
    let attempt = 0;
    for (;;) {
      throwIfAborted(signal);
      attempt++;
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      let retryReason: string;
      let retryAfterMs: number | undefined;
      let finalError: WinnowError;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", accept: "application/json", ...this.options.headers },
          body,
          signal: combined,
        });
        const text = await res.text();
        if (res.ok) {
          let parsed: unknown;
          try {
            parsed = JSON.parse(text);
          } catch {
            throw malformedResponseError(upstream, "body is not valid JSON", bodyExcerpt(text, this.secrets), res.status);
          }
          return { status: res.status, body: parsed, text, attempts: attempt };
        }
        retryAfterMs = parseRetryAfterMs(res.headers.get("retry-after"), this.policy.retryAfterCapMs);
        finalError = upstreamStatusError({
          upstream,
          status: res.status,
          body: bodyExcerpt(text, this.secrets),
          attempts: attempt,
          retryAfterMs,
        });
        if (!isRetryableStatus(res.status)) throw finalError;
        retryReason = `HTTP ${res.status}`;
      } catch (err) {
        if (err instanceof WinnowError) throw err;
        if (signal?.aborted) {
          throwIfAborted(signal);
        }
        if (timeout.aborted) {
          finalError = new WinnowError("TIMEOUT", `${upstream} did not answer within ${timeoutMs} ms (timeoutMs)${attempt > 1 ? ` on any of ${attempt} attempts` : ""}`, {
            details: { upstream, timeoutMs, attempts: attempt },
          });
          retryReason = "timeout";
        } else {
          // fetch reports refused connections, resets and truncated bodies as TypeError("fetch failed"/"terminated").
          const cause = (err as { cause?: { code?: string; message?: string } }).cause;
          const why = cause?.code ?? cause?.message ?? (err as Error).message;
          finalError = new WinnowError("UPSTREAM_ERROR", `${upstream} unreachable or connection broken (${why})${attempt > 1 ? ` after ${attempt} attempts` : ""}`, {
            details: { upstream, attempts: attempt, network: why },
          });
          retryReason = `network: ${why}`;
        }
      }
      if (attempt > this.policy.maxRetries) throw finalError;
      const delayMs = retryAfterMs ?? backoffDelayMs(attempt - 1, this.policy, this.options.random);
      options.onRetry?.({ attempt, delayMs, reason: retryReason });
      await sleep(delayMs, signal);
    }
  }
}

/** setTimeout as a promise that rejects with ABORTED when the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      try {
        throwIfAborted(signal);
      } catch (e) {
        reject(e);
      }
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      try {
        throwIfAborted(signal);
      } catch (e) {
        reject(e);
      }
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
