import { InvalidInputError } from "../../core/errors.js";
import type { Candidate } from "../../core/types.js";

/** One retriever's (or pool's) ranked list, named so fused candidates can say where they came from. */
export interface RankedList {
  name: string;
  candidates: readonly Candidate[];
  /** Weight of this list in the fusion (default 1). */
  weight?: number;
}

export interface RrfOptions {
  /** The RRF constant: larger k flattens the advantage of top ranks (Cormack et al. use 60). */
  k?: number;
  /** Keep only the best `limit` fused candidates. */
  limit?: number;
}

export type ScoreNormalization = "min-max" | "z-score" | "none";

export interface WeightedFusionOptions {
  normalization?: ScoreNormalization;
  limit?: number;
}

interface Accumulator {
  candidate: Candidate;
  fused: number;
  /** Best (lowest) rank over the lists, the tie-breaker. */
  bestRank: number;
  sources: string[];
  scores: Record<string, number>;
}

function checkWeight(list: RankedList, i: number): number {
  const w = list.weight ?? 1;
  if (typeof w !== "number" || !Number.isFinite(w) || w < 0) {
    throw new InvalidInputError(`lists[${i}].weight must be a finite number >= 0, got ${String(w)}`, { field: `lists[${i}].weight` });
  }
  return w;
}

function checkLimit(limit: unknown): number | undefined {
  if (limit === undefined) return undefined;
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1) {
    throw new InvalidInputError(`limit must be a positive integer, got ${String(limit)}`, { field: "limit" });
  }
  return limit;
}

/**
 * Merges lists by document id. `contribution(listIndex, position, candidate)` is what a
 * list adds to a document it contains; documents absent from a list get `missing(listIndex)`.
 * Each fused candidate keeps every earlier named score plus `<list name>` → its score in that list.
 */
function merge(
  lists: readonly RankedList[],
  contribution: (li: number, pos: number, c: Candidate) => number,
  missing: (li: number) => number,
  scoreName: string,
  limit: number | undefined,
): Candidate[] {
  const byId = new Map<string, Accumulator>();
  const seenIn: Array<Set<string>> = lists.map(() => new Set());
  lists.forEach((list, li) => {
    list.candidates.forEach((c, pos) => {
      const id = c.document.id;
      // A list can hold the same document twice (e.g. chunks); only its best position counts.
      if (seenIn[li].has(id)) return;
      seenIn[li].add(id);
      let acc = byId.get(id);
      if (!acc) {
        acc = { candidate: c, fused: 0, bestRank: Infinity, sources: [], scores: {} };
        byId.set(id, acc);
      }
      acc.fused += contribution(li, pos, c);
      acc.bestRank = Math.min(acc.bestRank, pos + 1);
      acc.sources.push(list.name);
      Object.assign(acc.scores, c.scores);
      acc.scores[list.name] = c.score;
    });
  });
  for (const [id, acc] of byId) {
    lists.forEach((_, li) => {
      if (!seenIn[li].has(id)) acc.fused += missing(li);
    });
  }
  const merged = [...byId.values()].sort((a, b) => b.fused - a.fused || a.bestRank - b.bestRank);
  const kept = limit === undefined ? merged : merged.slice(0, limit);
  return kept.map((acc, i) => ({
    document: acc.candidate.document,
    score: acc.fused,
    rank: i + 1,
    source: acc.sources.join("+"),
    scores: { ...acc.scores, [scoreName]: acc.fused },
  }));
}

/**
 * Reciprocal rank fusion: score(d) = Σ_lists weight / (k + rank(d)). Uses ranks only, so
 * it needs no score calibration between BM25 and dense retrievers.
 */
export function reciprocalRankFusion(lists: readonly RankedList[], options: RrfOptions = {}): Candidate[] {
  const k = options.k ?? 60;
  if (typeof k !== "number" || !Number.isFinite(k) || k < 0) {
    throw new InvalidInputError(`rrf k must be a finite number >= 0, got ${String(k)}`, { field: "k" });
  }
  const weights = lists.map(checkWeight);
  return merge(lists, (li, pos) => weights[li] / (k + pos + 1), () => 0, "rrf", checkLimit(options.limit));
}

/** Per-list score normalization; returns the normalized scores and the value a missing document gets. */
function normalize(scores: number[], how: ScoreNormalization): { values: number[]; floor: number } {
  if (scores.length === 0 || how === "none") {
    return { values: scores, floor: scores.length === 0 ? 0 : Math.min(...scores) };
  }
  if (how === "min-max") {
    const lo = Math.min(...scores);
    const hi = Math.max(...scores);
    // A list whose scores are all equal carries no preference: everyone in it gets 1.
    const span = hi - lo;
    return { values: scores.map((s) => (span > 0 ? (s - lo) / span : 1)), floor: 0 };
  }
  const mean = scores.reduce((a, b) => a + b, 0) / scores.length;
  const sd = Math.sqrt(scores.reduce((a, b) => a + (b - mean) ** 2, 0) / scores.length);
  const values = scores.map((s) => (sd > 0 ? (s - mean) / sd : 0));
  return { values, floor: Math.min(...values) };
}

/**
 * Weighted score fusion: score(d) = Σ_lists weight · norm(score in list). Scores are
 * normalized per list (min-max to [0,1] or z-score) because BM25 and cosine live on
 * different scales; a document missing from a list gets that list's lowest normalized
 * value (it ranked below everything the list returned).
 */
export function weightedScoreFusion(lists: readonly RankedList[], options: WeightedFusionOptions = {}): Candidate[] {
  const how = options.normalization ?? "min-max";
  if (how !== "min-max" && how !== "z-score" && how !== "none") {
    throw new InvalidInputError(`normalization must be "min-max", "z-score" or "none", got ${String(how)}`, { field: "normalization" });
  }
  const weights = lists.map(checkWeight);
  const normalized = lists.map((l) => normalize(l.candidates.map((c) => c.score), how));
  return merge(
    lists,
    (li, pos) => weights[li] * normalized[li].values[pos],
    (li) => weights[li] * normalized[li].floor,
    "fused",
    checkLimit(options.limit),
  );
}
