import { pino } from "pino";
import type { WinnowError } from "../../core/errors.js";
import { rankByScores } from "../../core/ranking.js";
import type { Candidate, RankedResult, RerankOptions } from "../../core/types.js";

/** The two things a remote reranker may do when its upstream fails after all retries. */
export type OnUpstreamError = "throw" | "fallback";

/** The slice of a pino logger we use, so callers can pass their own (or a test spy). */
export interface WarnLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

let defaultLogger: WarnLogger | undefined;

/** A pino logger on stderr, created on first use so library users who never degrade pay nothing. */
export function defaultWarnLogger(): WarnLogger {
  defaultLogger ??= pino({ name: "winnow", level: "warn" }, pino.destination(2));
  return defaultLogger;
}

/**
 * The first-stage order, returned instead of a reranked one when the upstream is
 * down and the caller chose `onError: "fallback"`. Candidates keep their rank
 * (ties by input position) and their first-stage score; every result says
 * `degraded: true` and why, so nothing downstream mistakes it for a reranking.
 */
export function firstStageFallback(
  candidates: readonly Candidate[],
  options: Pick<RerankOptions, "topN" | "returnDocuments">,
  error: WinnowError,
): RankedResult[] {
  const ranked = rankByScores(
    candidates,
    candidates.map((c) => -c.rank),
    options,
    () => ({ degraded: true, reason: error.code }),
  );
  for (const r of ranked) r.score = candidates[r.index].score;
  return ranked;
}

/** Logs one degraded event: the error code, status and excerpt only (keys are scrubbed before they reach an error). */
export function logDegraded(logger: WarnLogger, reranker: string, error: WinnowError, candidates: number): void {
  logger.warn(
    { reranker, code: error.code, status: error.details.status, candidates },
    `${reranker}: upstream failed, returning first-stage order (degraded): ${error.message}`,
  );
}
