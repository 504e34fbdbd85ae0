import { describe, expect, it } from "vitest";
import * as core from "../../src/core/errors.js";
import { WinnowError, type ErrorCode } from "../../src/core/errors.js";
import { errorBody, httpStatusForCode, toHttpError } from "../../src/server/http-errors.js";

describe("error codes to HTTP statuses (owned by the server, not core)", () => {
  it("maps each code to the status clients expect", () => {
    const expected: Record<ErrorCode, number> = {
      INVALID_INPUT: 422,
      CONFIG_INVALID: 400,
      NOT_FOUND: 404,
      MODEL_NOT_FOUND: 404,
      MODEL_LOAD_FAILED: 500,
      INDEX_CORRUPT: 500,
      INDEX_VERSION_MISMATCH: 500,
      TIMEOUT: 504,
      ABORTED: 499,
      UPSTREAM_ERROR: 502,
      RATE_LIMITED: 429,
      QUEUE_FULL: 429,
      PAYLOAD_TOO_LARGE: 413,
      UNAUTHORIZED: 401,
      UNAVAILABLE: 503,
      INTERNAL: 500,
    };
    for (const [code, status] of Object.entries(expected)) expect([code, httpStatusForCode(code as ErrorCode)]).toEqual([code, status]);
  });

  it("lets an error ask for its own status, and core exports no HTTP mapping", () => {
    const loading = new WinnowError("MODEL_NOT_FOUND", "still loading", { details: { field: "model", httpStatus: 503 } });
    expect(toHttpError(loading, 1024).status).toBe(503);
    expect(errorBody("tei", toHttpError(new WinnowError("QUEUE_FULL", "full"), 1024))).toEqual({ error: "full", error_type: "Overloaded", code: "QUEUE_FULL" });
    expect("httpStatusForCode" in core).toBe(false);
  });
});
