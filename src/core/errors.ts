/**
 * Typed errors with a stable `code`. Every module throws these for anything a
 * caller can act on, so the CLI prints one line and the server maps the code to
 * an HTTP status without string matching (src/server/http-errors.ts: core knows
 * codes, not HTTP).
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

/** Throws a typed ABORTED error when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    const reason = signal.reason;
    if (reason instanceof WinnowError) throw reason;
    throw new WinnowError("ABORTED", "operation aborted", { cause: reason });
  }
}
