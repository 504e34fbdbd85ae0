import { InvalidInputError } from "../core/errors.js";
import { computeMetric, DEFAULT_METRICS, judgeRanking, parseMetric, type MetricSpec } from "./metrics.js";
import type { Qrels } from "./readers/qrels.js";
import { trecOrder, type RunEntry } from "./run.js";

export interface EvaluateOptions {
  /** Grade at or above which a document counts as relevant (trec_eval `-l`, default 1). */
  relevanceLevel?: number;
  /** Evaluate only the top `depth` documents of each query (trec_eval `-M`). */
  depth?: number;
  /**
   * true (default, trec_eval `-c`): average over every query in the qrels, a query
   * missing from the run scoring 0. false: only queries present in both.
   */
  complete?: boolean;
}

/** Measures per query and their mean: trec_eval's `-q` output and its `all` line. */
export interface EvaluationResult {
  /** Mean of each measure over the evaluated queries (counts `num_*` are summed), keyed by trec_eval name. */
  metrics: Record<string, number>;
  /** Query id → measure → value, in qrels order. */
  perQuery: Map<string, Record<string, number>>;
  /** Number of queries averaged over. */
  numQueries: number;
  /** Judged queries the run has no results for (scored 0 when `complete`). */
  missingQueries: string[];
  /** Queries in the run without judgments: ignored, as trec_eval ignores them. */
  unjudgedQueries: string[];
}

function validateOptions(options: EvaluateOptions): Required<Pick<EvaluateOptions, "relevanceLevel" | "complete">> & { depth?: number } {
  const relevanceLevel = options.relevanceLevel ?? 1;
  if (!Number.isInteger(relevanceLevel) || relevanceLevel < 1) {
    throw new InvalidInputError(`relevanceLevel must be an integer >= 1, got ${String(relevanceLevel)}`, { field: "relevanceLevel" });
  }
  const depth = options.depth;
  if (depth !== undefined && (!Number.isInteger(depth) || depth < 1)) {
    throw new InvalidInputError(`depth must be a positive integer, got ${String(depth)}`, { field: "depth" });
  }
  return { relevanceLevel, depth, complete: options.complete ?? true };
}

function validateEntries(queryId: string, entries: readonly RunEntry[]): void {
  if (!Array.isArray(entries)) {
    throw new InvalidInputError(`run entries for query "${queryId}" must be an array`, { field: "run", query: queryId });
  }
  for (const e of entries) {
    if (e === null || typeof e !== "object" || typeof e.docId !== "string" || e.docId.length === 0) {
      throw new InvalidInputError(`run entry for query "${queryId}" needs a non-empty string docId`, { field: "run.docId", query: queryId });
    }
    if (typeof e.score !== "number" || !Number.isFinite(e.score)) {
      throw new InvalidInputError(`run entry "${e.docId}" for query "${queryId}" has a non-finite score`, {
        field: "run.score",
        query: queryId,
      });
    }
  }
}

/**
 * Evaluates a run against judgments with trec_eval's semantics (ranking by score
 * with id tie-breaks, `-c` averaging by default). Measures are trec_eval names such
 * as `ndcg_cut_10`, `recall_100`, `map`, `recip_rank`, `P_10`.
 */
export function evaluateRun(
  qrels: Qrels,
  run: ReadonlyMap<string, readonly RunEntry[]>,
  metrics: readonly string[] = DEFAULT_METRICS,
  options: EvaluateOptions = {},
): EvaluationResult {
  if (!(qrels instanceof Map) || qrels.size === 0) {
    throw new InvalidInputError("qrels must be a non-empty Map of query id → judgments", { field: "qrels" });
  }
  if (!(run instanceof Map)) throw new InvalidInputError("run must be a Map of query id → entries", { field: "run" });
  if (metrics.length === 0) throw new InvalidInputError("at least one metric is needed", { field: "metrics" });
  const specs: MetricSpec[] = [];
  for (const m of metrics) {
    const spec = parseMetric(m);
    if (!specs.some((s) => s.name === spec.name)) specs.push(spec);
  }
  const { relevanceLevel, depth, complete } = validateOptions(options);

  const perQuery = new Map<string, Record<string, number>>();
  const missingQueries: string[] = [];
  const sums: Record<string, number> = Object.fromEntries(specs.map((s) => [s.name, 0]));
  for (const [qid, judgments] of qrels) {
    const entries = run.get(qid);
    if (entries === undefined || entries.length === 0) {
      missingQueries.push(qid);
      if (!complete) continue;
    }
    validateEntries(qid, entries ?? []);
    const ordered = trecOrder(entries ?? []);
    const ranked = depth !== undefined && ordered.length > depth ? ordered.slice(0, depth) : ordered;
    const judged = judgeRanking(ranked, judgments, relevanceLevel, qid);
    const values: Record<string, number> = {};
    for (const spec of specs) {
      const v = computeMetric(spec, judged, relevanceLevel);
      values[spec.name] = v;
      sums[spec.name] += v;
    }
    perQuery.set(qid, values);
  }
  const numQueries = perQuery.size;
  if (numQueries === 0) {
    throw new InvalidInputError("no query has both results and judgments (check that the run and qrels use the same query ids)", {
      field: "run",
    });
  }
  const means: Record<string, number> = {};
  // trec_eval's `all` line sums the counts (num_rel, num_ret, num_rel_ret) and averages the rest.
  for (const spec of specs) means[spec.name] = spec.family.startsWith("num_") ? sums[spec.name] : sums[spec.name] / numQueries;
  const unjudgedQueries = [...run.keys()].filter((q) => !qrels.has(q));
  return { metrics: means, perQuery, numQueries, missingQueries, unjudgedQueries };
}
