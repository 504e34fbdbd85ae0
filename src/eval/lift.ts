import { InvalidInputError } from "../core/errors.js";
import { evaluateRun, type EvaluateOptions } from "./evaluate.js";
import { DEFAULT_METRICS } from "./metrics.js";
import { pairedQueries } from "./paired-queries.js";
import { pairedRandomizationTest } from "./significance.js";
import type { Qrels } from "./readers/qrels.js";
import { trecOrder, type RunEntry } from "./run.js";

/** How one measure moved from the first stage to the reranked run. */
export interface MetricLift {
  before: number;
  after: number;
  /** after − before. */
  delta: number;
  /** Judged queries where the reranked run scored higher / the same / lower. */
  wins: number;
  ties: number;
  losses: number;
  /** Two-sided paired randomization test p-value of the mean difference (see significance.ts). */
  pValue: number;
}

export interface LiftReport {
  /** Measure name → lift, over every judged query (trec_eval -c). */
  metrics: Record<string, MetricLift>;
  /** How often reranking changed what a user sees at the top. */
  topK: {
    k: number;
    /** Queries compared: those the first-stage run has results for. */
    queries: number;
    /** Fraction of those queries whose top-k set of documents changed. */
    setChanged: number;
    /** Fraction whose top-k list changed in membership or order. */
    orderChanged: number;
  };
  numQueries: number;
}

export interface LiftOptions extends EvaluateOptions {
  metrics?: readonly string[];
  /** Depth of the top-k comparison (default 10). */
  k?: number;
  /** Random sign flips for the significance test (default 10,000). */
  trials?: number;
  /** Seed of the significance test (default DEFAULT_RANDOMIZATION_SEED, as `winnow compare`). */
  seed?: number;
}

/** Per-query differences smaller than this are float noise, not a win or a loss. */
const TIE_EPSILON = 1e-12;

function topIds(entries: readonly RunEntry[] | undefined, k: number): string[] {
  return trecOrder(entries ?? []).slice(0, k).map((e) => e.docId);
}

/**
 * Compares a reranked run with the first-stage run it came from: metric deltas,
 * per-query wins/ties/losses, and how often the top k changed at all (a reranker
 * that never changes the top 10 cannot help, whatever its scores).
 */
export function computeLift(
  qrels: Qrels,
  firstStage: ReadonlyMap<string, readonly RunEntry[]>,
  reranked: ReadonlyMap<string, readonly RunEntry[]>,
  options: LiftOptions = {},
): LiftReport {
  const metrics = options.metrics ?? DEFAULT_METRICS;
  const k = options.k ?? 10;
  if (!Number.isInteger(k) || k < 1) throw new InvalidInputError(`k must be a positive integer, got ${String(k)}`, { field: "k" });
  const before = evaluateRun(qrels, firstStage, metrics, options);
  const after = evaluateRun(qrels, reranked, metrics, options);
  const out: Record<string, MetricLift> = {};
  for (const name of Object.keys(before.metrics)) {
    let wins = 0;
    let ties = 0;
    let losses = 0;
    const diffs = pairedQueries(before, after, name).map((q) => q.delta);
    for (const d of diffs) {
      if (d > TIE_EPSILON) wins++;
      else if (d < -TIE_EPSILON) losses++;
      else ties++;
    }
    out[name] = {
      before: before.metrics[name],
      after: after.metrics[name],
      delta: after.metrics[name] - before.metrics[name],
      wins,
      ties,
      losses,
      pValue: pairedRandomizationTest(diffs, { trials: options.trials, seed: options.seed }),
    };
  }
  let setChanged = 0;
  let orderChanged = 0;
  let queries = 0;
  for (const [qid, entries] of firstStage) {
    if (entries.length === 0) continue;
    queries++;
    const a = topIds(entries, k);
    const b = topIds(reranked.get(qid), k);
    const sameOrder = a.length === b.length && a.every((id, i) => id === b[i]);
    if (!sameOrder) orderChanged++;
    const setA = new Set(a);
    if (a.length !== b.length || b.some((id) => !setA.has(id))) setChanged++;
  }
  return {
    metrics: out,
    topK: { k, queries, setChanged: queries ? setChanged / queries : 0, orderChanged: queries ? orderChanged / queries : 0 },
    numQueries: before.numQueries,
  };
}
