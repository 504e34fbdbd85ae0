import { WinnowError } from "../../core/errors.js";

/** Longest slice of an upstream body kept in an error: enough to see the vendor's message, never a whole page. */
export const BODY_EXCERPT_CHARS = 300;

/**
 * Replaces every secret (API keys) in `text` with `***`. Vendors sometimes echo the
 * Authorization header or a key prefix back in error bodies; those bodies end up in
 * our error messages and logs, so they are scrubbed first.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) {
    if (s.length >= 4) out = out.split(s).join("***");
  }
  return out;
}

/** A short single-line excerpt of a response body, secrets removed. */
export function bodyExcerpt(body: string, secrets: readonly string[]): string {
  const flat = redactSecrets(body, secrets).replace(/\s+/g, " ").trim();
  return flat.length > BODY_EXCERPT_CHARS ? `${flat.slice(0, BODY_EXCERPT_CHARS)}…` : flat;
}

export interface UpstreamFailure {
  /** Who we called, e.g. "cohere" or "llm(http://localhost:8080/v1)". Never contains a key. */
  upstream: string;
  status?: number;
  body?: string;
  attempts: number;
  retryAfterMs?: number;
  cause?: unknown;
}

/** 429 after retries → RATE_LIMITED; anything else → UPSTREAM_ERROR, both with status and body excerpt. */
export function upstreamStatusError(f: UpstreamFailure & { status: number; body: string }): WinnowError {
  const code = f.status === 429 ? "RATE_LIMITED" : "UPSTREAM_ERROR";
  const what = f.status === 429 ? "rate limited" : "failed";
  const tries = f.attempts > 1 ? ` after ${f.attempts} attempts` : "";
  return new WinnowError(code, `${f.upstream} ${what}${tries}: HTTP ${f.status}${f.body ? `: ${f.body}` : ""}`, {
    details: { upstream: f.upstream, status: f.status, body: f.body, attempts: f.attempts, retryAfterMs: f.retryAfterMs },
  });
}

/** The upstream answered 2xx but not with what its protocol promises. */
export function malformedResponseError(upstream: string, problem: string, body: string, status = 200): WinnowError {
  return new WinnowError("UPSTREAM_ERROR", `${upstream} returned a malformed response (${problem})${body ? `: ${body}` : ""}`, {
    details: { upstream, status, body, problem },
  });
}
