import { InvalidInputError } from "../core/errors.js";
import type { RunEntry } from "./run.js";

/**
 * The measures Winnow computes, named and defined as trec_eval (9.0.8) defines them:
 * - `map`: sum of precision at each relevant retrieved doc / number of relevant docs.
 * - `recip_rank`: 1 / rank of the first relevant retrieved doc (0 if none).
 * - `P_k`: relevant in the top k / k (k fixed even when fewer docs were retrieved).
 * - `recall_k`: relevant in the top k / number of relevant docs (0 when there are none).
 * - `ndcg_cut_k`: DCG of the top k with gain = grade and discount log2(rank + 1), over
 *   the ideal DCG of the top k of all judged docs sorted by grade. Like trec_eval, the
 *   gains ignore the relevance level: every grade > 0 counts with its own value.
 * - `ndcg`: the same without a cutoff.
 * - `num_rel`, `num_ret`, `num_rel_ret`: counts.
 * "Relevant" means grade >= the relevance level (trec_eval `-l`, default 1).
 */
export type MetricFamily = "map" | "recip_rank" | "P" | "recall" | "ndcg_cut" | "ndcg" | "num_rel" | "num_ret" | "num_rel_ret";

export interface MetricSpec {
  /** Canonical name, as trec_eval prints it with `_` before the cutoff: `ndcg_cut_10`, `P_5`. */
  name: string;
  family: MetricFamily;
  cutoff?: number;
}

/** The measures reported when none are asked for. */
export const DEFAULT_METRICS: readonly string[] = ["ndcg_cut_10", "recall_100", "recall_1000", "map", "recip_rank", "P_10"];

const PLAIN: readonly MetricFamily[] = ["map", "recip_rank", "ndcg", "num_rel", "num_ret", "num_rel_ret"];
const CUT: readonly MetricFamily[] = ["P", "recall", "ndcg_cut"];
const MAX_CUTOFF = 1_000_000;

/** Parses `ndcg_cut_10` (or trec_eval's command-line spelling `ndcg_cut.10`) into a spec. */
export function parseMetric(name: string): MetricSpec {
  if (typeof name !== "string") {
    throw new InvalidInputError(`metric names must be strings, got ${typeof name}`, { field: "metrics" });
  }
  const trimmed = name.trim();
  if ((PLAIN as readonly string[]).includes(trimmed)) return { name: trimmed, family: trimmed as MetricFamily };
  const match = /^(P|recall|ndcg_cut)[._](\d+)$/.exec(trimmed);
  if (match) {
    const cutoff = Number(match[2]);
    if (cutoff < 1 || cutoff > MAX_CUTOFF) {
      throw new InvalidInputError(`metric "${name}": cutoff must be between 1 and ${MAX_CUTOFF}`, { field: "metrics" });
    }
    return { name: `${match[1]}_${cutoff}`, family: match[1] as MetricFamily, cutoff };
  }
  throw new InvalidInputError(
    `unknown metric "${name}" (known: ${PLAIN.join(", ")}, and ${CUT.map((f) => `${f}_<k>`).join(", ")})`,
    { field: "metrics" },
  );
}

/** Relevance of each ranked doc: its grade, or one of these for docs outside the judgments. */
export const NOT_JUDGED = -1; // trec_eval RELVALUE_NONPOOL
export const JUDGED_NEGATIVE = -2; // trec_eval RELVALUE_UNJUDGED: a qrels grade < 0

/** A ranked list seen through the judgments: what every measure is computed from. */
export interface JudgedRanking {
  /** Relevance per rank position (0-based), in trec_eval order. */
  rels: Int32Array;
  /** Number of judgments with grade >= relevance level. */
  numRel: number;
  /** Grades > 0 of all judgments, highest first: the ideal ranking for nDCG. */
  idealGains: number[];
}

/**
 * Joins a query's ranked documents (already in trec_eval order, see `trecOrder`) with
 * its judgments. Duplicate document ids are an error, as trec_eval refuses them too.
 */
export function judgeRanking(
  ranked: readonly RunEntry[],
  judgments: ReadonlyMap<string, number> | undefined,
  relevanceLevel: number,
  queryId = "?",
): JudgedRanking {
  const rels = new Int32Array(ranked.length);
  const seen = new Set<string>();
  for (let i = 0; i < ranked.length; i++) {
    const id = ranked[i].docId;
    if (seen.has(id)) {
      throw new InvalidInputError(`run lists document "${id}" twice for query "${queryId}"`, {
        field: "run",
        query: queryId,
        docId: id,
      });
    }
    seen.add(id);
    const grade = judgments?.get(id);
    rels[i] = grade === undefined ? NOT_JUDGED : grade < 0 ? JUDGED_NEGATIVE : grade;
  }
  let numRel = 0;
  const idealGains: number[] = [];
  for (const grade of judgments?.values() ?? []) {
    if (grade >= relevanceLevel) numRel++;
    if (grade > 0) idealGains.push(grade);
  }
  idealGains.sort((a, b) => b - a);
  return { rels, numRel, idealGains };
}

/** DCG of the first `depth` gains of `gains(i)`; summed in rank order like trec_eval so floats agree. */
function dcg(count: number, gainAt: (i: number) => number): number {
  let sum = 0;
  for (let i = 0; i < count; i++) {
    const gain = gainAt(i);
    if (gain > 0) sum += gain / Math.log2(i + 2);
  }
  return sum;
}

/** One measure for one query. */
export function computeMetric(spec: MetricSpec, judged: JudgedRanking, relevanceLevel: number): number {
  const { rels, numRel, idealGains } = judged;
  const n = rels.length;
  switch (spec.family) {
    case "map": {
      let relSoFar = 0;
      let sum = 0;
      for (let i = 0; i < n; i++) {
        if (rels[i] >= relevanceLevel) {
          relSoFar++;
          sum += relSoFar / (i + 1);
        }
      }
      return relSoFar > 0 ? sum / numRel : 0;
    }
    case "recip_rank": {
      for (let i = 0; i < n; i++) if (rels[i] >= relevanceLevel) return 1 / (i + 1);
      return 0;
    }
    case "P":
    case "recall": {
      const k = spec.cutoff as number;
      let hits = 0;
      for (let i = 0; i < Math.min(k, n); i++) if (rels[i] >= relevanceLevel) hits++;
      if (spec.family === "P") return hits / k;
      return numRel === 0 ? 0 : hits / numRel;
    }
    case "ndcg_cut":
    case "ndcg": {
      const k = spec.cutoff ?? Number.POSITIVE_INFINITY;
      const ideal = dcg(Math.min(k, idealGains.length), (i) => idealGains[i]);
      if (ideal <= 0) return 0;
      return dcg(Math.min(k, n), (i) => rels[i]) / ideal;
    }
    case "num_rel":
      return numRel;
    case "num_ret":
      return n;
    case "num_rel_ret": {
      let hits = 0;
      for (let i = 0; i < n; i++) if (rels[i] >= relevanceLevel) hits++;
      return hits;
    }
  }
}
