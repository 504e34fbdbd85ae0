import { InvalidInputError, WinnowError } from "./errors.js";
import type { Candidate, RankedResult, RerankOptions } from "./types.js";

/**
 * Builds the sorted result list every reranker returns: score descending, ties broken
 * by input position (so the first stage's order decides), then cut to `topN`.
 * NaN scores sort last rather than poisoning the order.
 */
export function rankByScores(
  candidates: readonly Candidate[],
  scores: ArrayLike<number>,
  options: Pick<RerankOptions, "topN" | "returnDocuments"> = {},
  details?: (index: number) => Record<string, unknown> | undefined,
): RankedResult[] {
  if (scores.length !== candidates.length) {
    throw new WinnowError("INTERNAL", `${scores.length} scores for ${candidates.length} candidates`);
  }
  const topN = validateTopN(options.topN);
  const order = Array.from({ length: candidates.length }, (_, i) => i);
  const key = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
  order.sort((a, b) => key(b) - key(a) || a - b);
  const keep = topN === undefined ? order : order.slice(0, topN);
  const withDocs = options.returnDocuments ?? true;
  return keep.map((i) => {
    const r: RankedResult = { index: i, id: candidates[i].document.id, score: scores[i] };
    if (withDocs) r.document = candidates[i].document;
    const d = details?.(i);
    if (d) r.details = d;
    return r;
  });
}

export function validateTopN(topN: unknown): number | undefined {
  if (topN === undefined || topN === null) return undefined;
  if (typeof topN !== "number" || !Number.isInteger(topN) || topN < 1) {
    throw new InvalidInputError(`topN must be a positive integer, got ${String(topN)}`, { field: "topN" });
  }
  return topN;
}
