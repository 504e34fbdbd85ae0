import { WinnowError } from "../../core/errors.js";

/** The parts of a _search response Winnow reads (Elasticsearch and OpenSearch agree on them). */
export interface SearchHit {
  _id: string;
  _index?: string;
  _score: number | null;
  _source?: Record<string, unknown>;
  sort?: unknown[];
}

export interface SearchResponseBody {
  timed_out?: boolean;
  _shards?: { total?: number; successful?: number; skipped?: number; failed?: number; failures?: Array<{ index?: string; shard?: number; reason?: { type?: string; reason?: string } }> };
  hits?: { hits?: SearchHit[] };
  pit_id?: string;
}

/**
 * What a response says that the caller must hear: failed shards and timeouts mean the
 * hits are partial (the engine still answers 200), which must not pass silently.
 */
export function partialResultWarnings(engine: string, body: SearchResponseBody): string[] {
  const out: string[] = [];
  const shards = body._shards;
  if (shards && (shards.failed ?? 0) > 0) {
    const first = shards.failures?.[0]?.reason;
    const why = first ? `: ${first.type ?? "error"}: ${first.reason ?? ""}`.trimEnd() : "";
    out.push(`${engine} retriever: ${shards.failed} of ${shards.total ?? "?"} shards failed, hits are partial${why}`);
  }
  if (body.timed_out === true) out.push(`${engine} retriever: the search timed out on the cluster, hits are partial`);
  return out;
}

export function hitsOf(engine: string, body: SearchResponseBody): SearchHit[] {
  const hits = body.hits?.hits;
  if (!Array.isArray(hits)) throw new WinnowError("UPSTREAM_ERROR", `${engine} retriever: response has no hits.hits array`, { details: { engine } });
  return hits;
}

interface ClientError {
  name?: string;
  message?: string;
  meta?: { statusCode?: number; body?: unknown };
  statusCode?: number;
  body?: unknown;
}

/** The first root cause an engine error body names: `{ error: { root_cause: [{ type, reason }] } }`. */
function reasonOf(body: unknown): string | undefined {
  if (body === null || typeof body !== "object") return typeof body === "string" && body ? body.slice(0, 200) : undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error === "string") return error;
  if (error && typeof error === "object") {
    const e = error as { type?: string; reason?: string; root_cause?: Array<{ type?: string; reason?: string }> };
    const cause = e.root_cause?.[0] ?? e;
    return [cause.type, cause.reason].filter(Boolean).join(": ") || undefined;
  }
  return undefined;
}

/** A client error (either engine's client: ResponseError, TimeoutError, ConnectionError) as a WinnowError with a code callers act on. */
export function engineError(engine: string, node: string, err: unknown): WinnowError {
  if (err instanceof WinnowError) return err;
  const e = (err ?? {}) as ClientError;
  const status = e.meta?.statusCode ?? e.statusCode;
  if (e.name === "TimeoutError") return new WinnowError("TIMEOUT", `${engine} retriever: ${node} did not answer in time (timeoutMs)`, { details: { engine, field: "timeoutMs" }, cause: err });
  if (e.name === "RequestAbortedError" || e.name === "AbortError") return new WinnowError("ABORTED", `${engine} retriever: search aborted`, { cause: err });
  if (typeof status === "number" && status >= 400) {
    const reason = reasonOf(e.meta?.body ?? e.body) ?? e.message ?? "error";
    const code = status === 401 || status === 403 ? "UNAUTHORIZED" : status === 404 ? "NOT_FOUND" : status === 429 ? "RATE_LIMITED" : status < 500 ? "INVALID_INPUT" : "UPSTREAM_ERROR";
    return new WinnowError(code, `${engine} retriever: HTTP ${status}: ${reason}`, { details: { engine, status }, cause: err });
  }
  return new WinnowError("UPSTREAM_ERROR", `${engine} retriever: cannot reach ${node}: ${e.message ?? String(err)}`, { details: { engine }, cause: err });
}
