import { InvalidInputError } from "../../core/errors.js";
import type { Candidate } from "../../core/types.js";

/** One retriever's (or pool's) ranked list, named so fused candidates can say where they came from. */
export interface RankedList {
  name: string;
  candidates: readonly Candidate[];
  /** Weight of this list in the fusion (default 1). */
  weight?: number;
}

/**
 * What the fusions take for each list: a named `RankedList`, or what a retriever's
 * `search()` returns (`Candidate[]`), named after its candidates' `source` (else `list<i>`).
 */
export type FusionInput = RankedList | readonly Candidate[];

const LIST_SHAPE = "a Candidate[] (what search() returns) or { name, candidates: Candidate[], weight? }";

function isCandidate(c: unknown): c is Candidate {
  const x = c as Candidate | null;
  return typeof x === "object" && x !== null && typeof x.document?.id === "string" && typeof x.score === "number";
}

/** Checks every list's shape (naming the first wrong item) and names plain search results. */
function asRankedLists(lists: readonly FusionInput[]): RankedList[] {
  if (!Array.isArray(lists)) {
    throw new InvalidInputError(`lists must be an array of ranked lists, each ${LIST_SHAPE}; got ${describe(lists)}`, { field: "lists" });
  }
  const out: RankedList[] = [];
  const names = new Set<string>();
  lists.forEach((input, i) => {
    const field = `lists[${i}]`;
    let list: RankedList;
    if (Array.isArray(input)) {
      const sources = new Set((input as readonly Candidate[]).map((c) => (isCandidate(c) ? c.source : undefined)));
      const [only] = sources;
      const name = sources.size === 1 && typeof only === "string" && only.length > 0 && !names.has(only) ? only : `list${i + 1}`;
      list = { name, candidates: input as readonly Candidate[] };
    } else if (typeof input === "object" && input !== null && Array.isArray((input as RankedList).candidates)) {
      list = input as RankedList;
      if (typeof list.name !== "string" || list.name.length === 0) {
        throw new InvalidInputError(`${field}.name must be a non-empty string (the list's name in fused scores)`, { field: `${field}.name` });
      }
    } else {
      throw new InvalidInputError(`${field} must be ${LIST_SHAPE}; got ${describe(input)}`, { field });
    }
    const bad = list.candidates.findIndex((c) => !isCandidate(c));
    if (bad >= 0) {
      const where = Array.isArray(input) ? `${field}[${bad}]` : `${field}.candidates[${bad}]`;
      throw new InvalidInputError(`${where} must be a Candidate ({ document: { id, text }, score, rank }); got ${describe(list.candidates[bad])}`, { field: where });
    }
    names.add(list.name);
    out.push(list);
  });
  return out;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Promise) return "a Promise (await the search first)";
  if (typeof v === "object") return `an object with keys ${Object.keys(v).slice(0, 5).join(", ") || "(none)"}`;
  return typeof v;
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
 * it needs no score calibration between BM25 and dense retrievers. Rank is the position
 * in the list as given.
 */
export function reciprocalRankFusion(inputs: readonly FusionInput[], options: RrfOptions = {}): Candidate[] {
  const lists = asRankedLists(inputs);
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
export function weightedScoreFusion(inputs: readonly FusionInput[], options: WeightedFusionOptions = {}): Candidate[] {
  const lists = asRankedLists(inputs);
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
