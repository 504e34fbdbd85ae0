import { pino } from "pino";
import type { WinnowError } from "../../core/errors.js";
import type { RerankerEvents } from "../../core/reranker-base.js";

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

/** Logs one degraded event: the error code, status and excerpt only (keys are scrubbed before they reach an error). */
export function logDegraded(logger: WarnLogger, reranker: string, error: WinnowError, candidates: number): void {
  logger.warn(
    { reranker, code: error.code, status: error.details.status, candidates },
    `${reranker}: upstream failed, returning first-stage order (degraded): ${error.message}`,
  );
}

/** The base's events for a remote family: degraded calls logged (default logger: pino on stderr). */
export function degradedLogEvents(logger: WarnLogger | undefined): RerankerEvents {
  return { onDegraded: (reranker, error, candidates) => logDegraded(logger ?? defaultWarnLogger(), reranker, error, candidates) };
}
