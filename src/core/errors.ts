/**
 * Typed errors with a stable `code`. Every module throws these for anything a
 * caller can act on, so the CLI prints one line and the server maps the code to
 * an HTTP status without string matching.
 */
export type ErrorCode =
  | "INVALID_INPUT"
  | "CONFIG_INVALID"
  | "NOT_FOUND"
  | "MODEL_NOT_FOUND"
  | "MODEL_LOAD_FAILED"
  | "INDEX_CORRUPT"
  | "INDEX_VERSION_MISMATCH"
  | "TIMEOUT"
  | "ABORTED"
  | "UPSTREAM_ERROR"
  | "RATE_LIMITED"
  | "QUEUE_FULL"
  | "PAYLOAD_TOO_LARGE"
  | "UNAUTHORIZED"
  /** The service cannot answer now but may later (e.g. shutting down): retry elsewhere or later. */
  | "UNAVAILABLE"
  | "INTERNAL";

export interface WinnowErrorOptions {
  /** Structured context (field name, limit, path, upstream status…). Never secrets. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class WinnowError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: WinnowErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WinnowError";
    this.code = code;
    this.details = options.details ?? {};
  }
}

export class InvalidInputError extends WinnowError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super("INVALID_INPUT", message, { details });
    this.name = "InvalidInputError";
  }
}

export function isWinnowError(err: unknown): err is WinnowError {
  return err instanceof WinnowError;
}

/** HTTP status for an error code (used by the server). */
export function httpStatusForCode(code: ErrorCode): number {
  switch (code) {
    case "INVALID_INPUT":
      return 422;
    case "CONFIG_INVALID":
      return 400;
    case "NOT_FOUND":
    case "MODEL_NOT_FOUND":
      return 404;
    case "PAYLOAD_TOO_LARGE":
      return 413;
    case "UNAUTHORIZED":
      return 401;
    case "RATE_LIMITED":
    case "QUEUE_FULL":
      return 429;
    case "TIMEOUT":
      return 504;
    case "ABORTED":
      return 499;
    case "UPSTREAM_ERROR":
      return 502;
    case "UNAVAILABLE":
      return 503;
    case "MODEL_LOAD_FAILED":
    case "INDEX_CORRUPT":
    case "INDEX_VERSION_MISMATCH":
    case "INTERNAL":
      return 500;
  }
}

/** Throws a typed ABORTED error when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof WinnowError) throw reason;
    throw new WinnowError("ABORTED", "operation aborted", { cause: reason });
  }
}
