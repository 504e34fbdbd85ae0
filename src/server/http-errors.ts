import { WinnowError, isWinnowError, type ErrorCode } from "../core/errors.js";

/** Which wire format an error takes: Cohere-style `{ message }` or TEI-style `{ error, error_type }`. */
export type ErrorStyle = "cohere" | "tei";

export interface HttpError {
  status: number;
  code: ErrorCode;
  message: string;
  details: Record<string, unknown>;
}

/**
 * The HTTP status every route answers for an error code. The one place codes meet HTTP:
 * the exhaustive switch makes a new code a compile error here until it has a status.
 */
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
      // nginx's "client closed request": only logs ever see it, the client has gone.
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

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** `/documents/3/text` → `documents[3].text`, the way users write the field. */
function fieldOf(instancePath: string): string {
  const parts = instancePath.split("/").filter(Boolean);
  let out = "";
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || "body";
}

/** One readable sentence for a schema violation, naming the field and the limit. */
function describeValidation(errors: AjvError[]): { message: string; field: string; limit?: unknown } {
  // Inside anyOf, ajv reports every branch's complaint; the one that is not a type
  // mismatch (e.g. maxLength on the string branch) is what the caller needs to hear.
  const specific = errors.find((e) => e.keyword !== "type" && e.keyword !== "anyOf") ?? errors[0];
  const field = fieldOf(specific.instancePath);
  const p = specific.params;
  switch (specific.keyword) {
    case "required":
      return { message: `${field === "body" ? "" : `${field}.`}${String(p.missingProperty)} is required`, field: String(p.missingProperty) };
    case "additionalProperties": {
      const f = field === "body" ? String(p.additionalProperty) : `${field}.${String(p.additionalProperty)}`;
      return { message: `${f}: unknown field`, field: f };
    }
    case "maxItems":
      return { message: `${field}: at most ${String(p.limit)} items allowed`, field, limit: p.limit };
    case "minItems":
      return { message: `${field}: at least ${String(p.limit)} item(s) required`, field, limit: p.limit };
    case "maxLength":
      return { message: `${field}: at most ${String(p.limit)} characters allowed`, field, limit: p.limit };
    case "minLength":
      return { message: `${field}: must not be empty`, field, limit: p.limit };
    case "maximum":
    case "minimum":
      return { message: `${field}: must be ${specific.keyword === "maximum" ? "<=" : ">="} ${String(p.limit)}`, field, limit: p.limit };
    case "maxProperties":
      return { message: `${field}: at most ${String(p.limit)} fields allowed`, field, limit: p.limit };
    case "enum":
      return { message: `${field}: must be one of ${(p.allowedValues as unknown[]).map(String).join(", ")}`, field };
    case "type": {
      const inAnyOf = errors.some((e) => e.keyword === "anyOf" && e.instancePath === specific.instancePath);
      return { message: `${field}: must be ${inAnyOf ? "a string or an object of strings" : `of type ${String(p.type)}`}`, field };
    }
    default:
      return { message: `${field}: ${specific.message ?? "invalid"}`, field };
  }
}

/**
 * Maps anything a handler can throw to a status and a JSON body: WinnowErrors by
 * their code, Fastify's own client errors (bad JSON, body too large, schema
 * violations) by theirs. Anything else is a 500 whose message hides internals.
 */
export function toHttpError(err: unknown, bodyLimit: number): HttpError {
  if (isWinnowError(err)) {
    // A server-side error may ask for a status its code does not imply (503 while a model loads).
    const status = typeof err.details.httpStatus === "number" ? err.details.httpStatus : httpStatusForCode(err.code);
    return { status, code: err.code, message: err.message, details: err.details };
  }
  const e = err as { code?: string; statusCode?: number; message?: string; validation?: AjvError[] };
  if (Array.isArray(e.validation) && e.validation.length > 0) {
    const v = describeValidation(e.validation);
    const details: Record<string, unknown> = { field: v.field };
    if (v.limit !== undefined) details.limit = v.limit;
    return { status: 400, code: "INVALID_INPUT", message: v.message, details };
  }
  switch (e.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return {
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
        message: `body: request body exceeds ${bodyLimit} bytes (limits.bodyLimitBytes)`,
        details: { field: "body", limit: bodyLimit },
      };
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return { status: 415, code: "INVALID_INPUT", message: "content-type: send application/json", details: { field: "content-type" } };
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return { status: 400, code: "INVALID_INPUT", message: "body: empty JSON body", details: { field: "body" } };
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return { status: 400, code: "INVALID_INPUT", message: "content-length: does not match the body", details: { field: "content-length" } };
  }
  if (err instanceof SyntaxError || e.code === "FST_ERR_CTP_INVALID_JSON_BODY") {
    return { status: 400, code: "INVALID_INPUT", message: `body: not valid JSON (${e.message ?? "parse error"})`, details: { field: "body" } };
  }
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return { status: e.statusCode, code: "INVALID_INPUT", message: e.message ?? "bad request", details: {} };
  }
  return { status: 500, code: "INTERNAL", message: "internal server error", details: {} };
}

const TEI_ERROR_TYPES: Partial<Record<ErrorCode, string>> = {
  INVALID_INPUT: "Validation",
  PAYLOAD_TOO_LARGE: "Validation",
  QUEUE_FULL: "Overloaded",
  RATE_LIMITED: "Overloaded",
  MODEL_NOT_FOUND: "Validation",
  UNAUTHORIZED: "Unauthorized",
  TIMEOUT: "Backend",
  ABORTED: "Backend",
};

export function errorBody(style: ErrorStyle, e: HttpError): Record<string, unknown> {
  const extra = { code: e.code, ...pick(e.details, ["field", "limit"]) };
  if (style === "tei") return { error: e.message, error_type: TEI_ERROR_TYPES[e.code] ?? "Backend", ...extra };
  return { message: e.message, ...extra };
}

function pick(obj: Record<string, unknown>, keys: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (obj[k] !== undefined) out[k] = obj[k];
  return out;
}

export function invalid(field: string, message: string, limit?: number): WinnowError {
  return new WinnowError("INVALID_INPUT", message, { details: limit === undefined ? { field } : { field, limit } });
}
