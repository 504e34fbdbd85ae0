import { describe, expect, it } from "vitest";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, isRetryableStatus, parseRetryAfterMs } from "../../../src/rerankers/http/retry-policy.js";
import { ConcurrencyLimiter, mapWithLimit } from "../../../src/rerankers/http/concurrency-limiter.js";
import { bodyExcerpt, BODY_EXCERPT_CHARS, redactSecrets } from "../../../src/rerankers/http/upstream-error.js";

describe("retry policy", () => {
  it("retries 429, 408 and 5xx but not other 4xx", () => {
    expect([429, 408, 500, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 422].some(isRetryableStatus)).toBe(false);
  });

  it("draws full-jitter backoff inside [0, min(cap, base·2^attempt)]", () => {
    const policy = { ...DEFAULT_RETRY_POLICY, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelayMs(0, policy, () => 0.999)).toBe(99);
    expect(backoffDelayMs(3, policy, () => 0.5)).toBe(400);
    expect(backoffDelayMs(10, policy, () => 0.999)).toBe(999);
    expect(backoffDelayMs(2, policy, () => 0)).toBe(0);
  });

  it("parses Retry-After as seconds or an HTTP date, capped", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");
    expect(parseRetryAfterMs("2", 60_000, now)).toBe(2000);
    expect(parseRetryAfterMs("0.25", 60_000, now)).toBe(250);
    expect(parseRetryAfterMs("Thu, 01 Jan 2026 00:00:05 GMT", 60_000, now)).toBe(5000);
    expect(parseRetryAfterMs("Wed, 31 Dec 2025 23:00:00 GMT", 60_000, now)).toBe(0);
    expect(parseRetryAfterMs("3600", 10_000, now)).toBe(10_000);
    expect(parseRetryAfterMs("soon", 60_000, now)).toBeUndefined();
    expect(parseRetryAfterMs(null, 60_000, now)).toBeUndefined();
  });
});

describe("ConcurrencyLimiter", () => {
  it("never runs more than the limit at once and keeps result order", async () => {
    const limiter = new ConcurrencyLimiter(3);
    let active = 0;
    let peak = 0;
    const out = await mapWithLimit([5, 1, 4, 2, 3, 1, 2, 5], limiter, async (ms, i) => {
      active++;
      peak = Math.max(peak, active);
      await new Promise((r) => setTimeout(r, ms));
      active--;
      return i * 10;
    });
    expect(peak).toBe(3);
    expect(limiter.peak).toBe(3);
    expect(out).toEqual([0, 10, 20, 30, 40, 50, 60, 70]);
  });

  it("rejects a non-positive limit", () => {
    expect(() => new ConcurrencyLimiter(0)).toThrow(/concurrency/);
  });
});

describe("upstream error excerpts", () => {
  it("scrubs keys and keeps excerpts short and on one line", () => {
    const key = "sk-test-1234567890";
    expect(redactSecrets(`bad key ${key} (${key})`, [key])).toBe("bad key *** (***)");
    const long = `line1\nline2 ${"x".repeat(1000)}`;
    const ex = bodyExcerpt(long, []);
    expect(ex.includes("\n")).toBe(false);
    expect(ex.length).toBe(BODY_EXCERPT_CHARS + 1);
  });
});
