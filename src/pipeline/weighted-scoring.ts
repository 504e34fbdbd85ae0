import { InvalidInputError } from "../core/errors.js";
import type { Document } from "../core/types.js";

/**
 * Final scoring as a weighted sum of signals, each brought to [0, 1] first so weights
 * mean what they say: the last reranker's score, any named earlier score (`bm25`,
 * `dense`, `rrf`, a stage name) and metadata signals (recency, source trust).
 */
export interface WeightedScoring {
  /** Signal name → weight. `rerank` is the last stage's score; other names look up candidate scores. */
  weights: Record<string, number>;
  /** Exponential decay on a date field: 1 for now, 0.5 after `halfLifeDays`. */
  recency?: { field: string; halfLifeDays: number; weight: number };
  /** Source trust: a numeric field in [0,1], or a field whose value is looked up in `values`. */
  trust?: { field: string; weight: number; values?: Record<string, number>; default?: number };
}

export function validateWeightedScoring(s: WeightedScoring, field = "scoring"): WeightedScoring {
  if (!s || typeof s !== "object") throw new InvalidInputError(`${field} must be an object`, { field });
  const weights = s.weights ?? {};
  for (const [name, w] of Object.entries(weights)) {
    if (typeof w !== "number" || !Number.isFinite(w)) {
      throw new InvalidInputError(`${field}.weights.${name} must be a finite number`, { field: `${field}.weights.${name}` });
    }
  }
  if (s.recency) {
    if (!(s.recency.halfLifeDays > 0)) {
      throw new InvalidInputError(`${field}.recency.halfLifeDays must be > 0`, { field: `${field}.recency.halfLifeDays` });
    }
    if (!Number.isFinite(s.recency.weight)) throw new InvalidInputError(`${field}.recency.weight must be a finite number`, { field: `${field}.recency.weight` });
  }
  if (s.trust && !Number.isFinite(s.trust.weight)) {
    throw new InvalidInputError(`${field}.trust.weight must be a finite number`, { field: `${field}.trust.weight` });
  }
  return s;
}

const DAY_MS = 86_400_000;

export function recencySignal(doc: Document, field: string, halfLifeDays: number, nowMs: number): number {
  const raw = doc.metadata?.[field];
  const t = typeof raw === "number" ? raw : typeof raw === "string" ? Date.parse(raw) : NaN;
  if (!Number.isFinite(t)) return 0;
  const ageDays = Math.max(0, (nowMs - t) / DAY_MS);
  return Math.pow(0.5, ageDays / halfLifeDays);
}

export function trustSignal(doc: Document, trust: NonNullable<WeightedScoring["trust"]>): number {
  const raw = doc.metadata?.[trust.field];
  if (trust.values) {
    const v = typeof raw === "string" ? trust.values[raw] : undefined;
    return v ?? trust.default ?? 0;
  }
  return typeof raw === "number" && Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : (trust.default ?? 0);
}

function minMax(values: number[]): number[] {
  const finite = values.filter(Number.isFinite);
  if (finite.length === 0) return values.map(() => 0);
  const lo = Math.min(...finite);
  const hi = Math.max(...finite);
  // All-equal signals carry no preference between items: everyone gets 1.
  return values.map((v) => (!Number.isFinite(v) ? 0 : hi > lo ? (v - lo) / (hi - lo) : 1));
}

export interface ScoredItem {
  document: Document;
  /** Named scores gathered so far; `rerank` must hold the last stage's score. */
  scores: Record<string, number>;
}

/**
 * Weighted final scores for `items` (the candidates the last stage scored). Score signals
 * are min-max normalized over these items; a candidate lacking a named score gets 0 for it.
 */
export function weightedScores(items: readonly ScoredItem[], scoring: WeightedScoring, nowMs = Date.now()): Float64Array {
  const out = new Float64Array(items.length);
  for (const [name, w] of Object.entries(scoring.weights ?? {})) {
    if (w === 0) continue;
    const norm = minMax(items.map((it) => it.scores[name] ?? NaN));
    norm.forEach((v, i) => (out[i] += w * v));
  }
  if (scoring.recency && scoring.recency.weight !== 0) {
    const { field, halfLifeDays, weight } = scoring.recency;
    items.forEach((it, i) => (out[i] += weight * recencySignal(it.document, field, halfLifeDays, nowMs)));
  }
  if (scoring.trust && scoring.trust.weight !== 0) {
    const trust = scoring.trust;
    items.forEach((it, i) => (out[i] += trust.weight * trustSignal(it.document, trust)));
  }
  return out;
}
