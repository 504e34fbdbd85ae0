import type { EvaluationResult } from "./evaluate.js";

/** One query's value of a measure in two evaluations. */
export interface PairedQuery {
  query: string;
  before: number;
  after: number;
  /** after − before. */
  delta: number;
}

/**
 * The queries both evaluations scored, in qrels order, with each side's value of one
 * measure: the one pairing every paired statistic uses (`winnow eval`'s lift, `winnow
 * metrics --baseline`, `winnow compare`), so the same two runs always give the same
 * deltas, wins and p-values. With trec_eval `-c` (the default) that is every judged
 * query; with `complete: false`, those present in both runs.
 */
export function pairedQueries(before: EvaluationResult, after: EvaluationResult, measure: string): PairedQuery[] {
  const out: PairedQuery[] = [];
  for (const [query, b] of before.perQuery) {
    const a = after.perQuery.get(query);
    if (a === undefined) continue;
    out.push({ query, before: b[measure], after: a[measure], delta: a[measure] - b[measure] });
  }
  return out;
}
