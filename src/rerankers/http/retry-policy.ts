/**
 * When and how long to wait before retrying an upstream call. Shared by the hosted
 * rerank APIs and the LLM chat client so both back off the same way.
 */
export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  maxRetries: number;
  /** First backoff step; doubles per attempt. */
  baseDelayMs: number;
  /** Cap on one exponential backoff step. */
  maxDelayMs: number;
  /** Cap on a server-requested `Retry-After`, so a hostile or broken upstream cannot park us for hours. */
  retryAfterCapMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxRetries: 3,
  baseDelayMs: 500,
  maxDelayMs: 8_000,
  retryAfterCapMs: 60_000,
};

/** Statuses worth another try: rate limits, timeouts and server-side failures. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 425 || status === 429 || status >= 500;
}

/**
 * "Full jitter" exponential backoff (AWS architecture blog): a uniform draw in
 * [0, min(cap, base·2^attempt)], which spreads synchronized clients apart better
 * than a fixed delay plus small noise.
 */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** attempt);
  return Math.floor(random() * ceiling);
}

/**
 * Parses `Retry-After` (RFC 9110 §10.2.3): either delay-seconds or an HTTP date.
 * Returns milliseconds to wait, capped, or undefined when absent or unparseable.
 */
export function parseRetryAfterMs(header: string | null | undefined, capMs: number, now: number = Date.now()): number | undefined {
  if (header === null || header === undefined) return undefined;
  const value = header.trim();
  if (value === "") return undefined;
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(value)) {
    ms = Math.ceil(Number(value) * 1000);
  } else {
    const at = Date.parse(value);
    if (Number.isNaN(at)) return undefined;
    ms = at - now;
  }
  return Math.min(Math.max(0, ms), capMs);
}
