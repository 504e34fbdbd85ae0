import { InvalidInputError, throwIfAborted } from "../../core/errors.js";
import { toQuery } from "../../core/inputs.js";
import type { Candidate, QueryInput, Retriever } from "../../core/types.js";
import type { Bm25Index, Bm25SearchOptions, WeightedTerm } from "./bm25-index.js";

/**
 * RM3 pseudo-relevance feedback exactly as Anserini's `-bm25 -rm3` runs it
 * (io.anserini.rerank.lib.Rm3Reranker over io.anserini.util.FeatureVector), in
 * Java's float arithmetic (Math.fround where Java computes in float) so the
 * expanded query's boosts, and therefore scores and ties, match Lucene's:
 *
 * 1. the query vector: one per analyzed query term (repeats add), scaled to unit L1;
 * 2. each of the top fbDocs BM25 documents: its term vector (tf), keeping terms of
 *    2–20 characters matching [a-z0-9]+ whose document frequency is at most 10% of
 *    the collection, pruned to its fbTerms largest (ties: term ascending);
 * 3. the relevance model: for every term of the pruned vectors, the sum over the
 *    feedback documents of tf / (L1 norm of that pruned vector) · BM25 score; pruned
 *    to fbTerms, scaled to unit L1;
 * 4. originalQueryWeight · query + (1 − originalQueryWeight) · model, run as a
 *    weighted query (Bm25Index.searchWeighted).
 */
export interface Rm3Params {
  /** Feedback documents: the top fbDocs of the BM25 run. */
  fbDocs: number;
  /** Terms kept per feedback document, and in the model. */
  fbTerms: number;
  /** Weight of the original query in the interpolation, in [0, 1]. */
  originalQueryWeight: number;
}

export const DEFAULT_RM3_PARAMS: Readonly<Rm3Params> = Object.freeze({ fbDocs: 10, fbTerms: 10, originalQueryWeight: 0.5 });

const f = Math.fround;
/** Anserini's term filter: feedback terms are plain English words or numbers. */
const FEEDBACK_TERM = /^[a-z0-9]+$/;
const MAX_DF_RATIO = f(0.1);
const MIN_NORM = f(0.001);

/** A feedback document: its index in the BM25 index and its first-stage BM25 score. */
export interface FeedbackDocument {
  docIndex: number;
  score: number;
}

export function validateRm3Params(p: Partial<Rm3Params>, base: Rm3Params = DEFAULT_RM3_PARAMS): Rm3Params {
  const fbDocs = p.fbDocs ?? base.fbDocs;
  const fbTerms = p.fbTerms ?? base.fbTerms;
  const originalQueryWeight = p.originalQueryWeight ?? base.originalQueryWeight;
  for (const [field, v] of [["fbDocs", fbDocs], ["fbTerms", fbTerms]] as const) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > 10_000) {
      throw new InvalidInputError(`${field} must be an integer between 1 and 10000, got ${String(v)}`, { field });
    }
  }
  if (typeof originalQueryWeight !== "number" || !Number.isFinite(originalQueryWeight) || originalQueryWeight < 0 || originalQueryWeight > 1) {
    throw new InvalidInputError(`originalQueryWeight must be a number between 0 and 1, got ${String(originalQueryWeight)}`, { field: "originalQueryWeight" });
  }
  return { fbDocs, fbTerms, originalQueryWeight };
}

/** FeatureVector's order: value descending, then term ascending (Java String order; feedback terms are ASCII). */
function byValueThenTerm(a: [string, number], b: [string, number]): number {
  if (a[1] !== b[1]) return a[1] > b[1] ? -1 : 1;
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** FeatureVector.pruneToSize: the k largest values (at least one, as Java's loop keeps one before testing). */
function pruneToSize(vector: Map<string, number>, k: number): Map<string, number> {
  return new Map([...vector].sort(byValueThenTerm).slice(0, Math.max(1, k)));
}

/** FeatureVector.computeL1Norm: a double sum of the float values. */
function l1Norm(vector: Map<string, number>): number {
  let norm = 0;
  for (const v of vector.values()) norm += Math.abs(v);
  return norm;
}

/** FeatureVector.scaleToUnitL1Norm: each value / norm (double), stored as float. */
function scaleToUnitL1Norm(vector: Map<string, number>): Map<string, number> {
  const norm = l1Norm(vector);
  for (const [t, v] of vector) vector.set(t, f(v / norm));
  return vector;
}

/**
 * Rm3Reranker.createdFeatureVector: a document's term frequencies, keeping only
 * feedback-worthy terms (2–20 characters, [a-z0-9]+, df ≤ 10% of the documents).
 */
export function feedbackTermVector(index: Bm25Index, docIndex: number): Map<string, number> {
  const { terms } = index.documentTerms(docIndex);
  const tf = new Map<number, number>();
  for (let i = 0; i < terms.length; i++) tf.set(terms[i], (tf.get(terms[i]) ?? 0) + 1);
  // reader.numDocs(): every stored document, as Lucene counts the index.
  const numDocs = index.size;
  const vector = new Map<string, number>();
  for (const [id, freq] of tf) {
    const term = index.term(id);
    if (term.length < 2 || term.length > 20 || !FEEDBACK_TERM.test(term)) continue;
    if (f(index.docFreq(id) / numDocs) > MAX_DF_RATIO) continue;
    vector.set(term, freq);
  }
  return vector;
}

/**
 * Rm3Reranker.estimateRelevanceModel: the feedback documents' pruned vectors mixed
 * by their BM25 scores, pruned to fbTerms and scaled to unit L1. Term → weight.
 */
export function rm3RelevanceModel(index: Bm25Index, feedback: ReadonlyArray<FeedbackDocument>, params: Partial<Rm3Params> = {}): Map<string, number> {
  const { fbDocs, fbTerms } = validateRm3Params(params);
  const docs = feedback.slice(0, fbDocs);
  const vectors = docs.map((d) => pruneToSize(feedbackTermVector(index, d.docIndex), fbTerms));
  const norms = vectors.map((v) => f(l1Norm(v)));
  const vocab = new Set<string>();
  for (const v of vectors) for (const t of v.keys()) vocab.add(t);
  const model = new Map<string, number>();
  for (const term of vocab) {
    let weight = 0;
    for (let i = 0; i < vectors.length; i++) {
      // Anserini skips empty feedback vectors (every term filtered out) rather than divide by zero.
      if (norms[i] > MIN_NORM) weight = f(weight + f(f((vectors[i].get(term) ?? 0) / norms[i]) * f(docs[i].score)));
    }
    model.set(term, weight);
  }
  if (model.size === 0) return model;
  return scaleToUnitL1Norm(pruneToSize(model, fbTerms));
}

/**
 * The expanded query: originalQueryWeight · (query terms, unit L1) + (1 − originalQueryWeight)
 * · relevance model, as FeatureVector.interpolate computes it (the first product in float, the
 * rest in double, stored as float). `queryTerms` are the analyzed query terms, repeats kept,
 * including terms the index lacks (they still take their share of the query's weight).
 */
export function rm3ExpandQuery(
  index: Bm25Index,
  queryTerms: ReadonlyArray<string>,
  feedback: ReadonlyArray<FeedbackDocument>,
  params: Partial<Rm3Params> = {},
): WeightedTerm[] {
  const p = validateRm3Params(params);
  const query = new Map<string, number>();
  for (const t of queryTerms) query.set(t, f((query.get(t) ?? 0) + 1));
  if (query.size > 0) scaleToUnitL1Norm(query);
  const model = rm3RelevanceModel(index, feedback, p);
  const w = f(p.originalQueryWeight);
  const out: WeightedTerm[] = [];
  for (const term of new Set([...query.keys(), ...model.keys()])) {
    out.push({ term, weight: f(f(w * (query.get(term) ?? 0)) + (1 - w) * (model.get(term) ?? 0)) });
  }
  return out.sort((a, b) => byValueThenTerm([a.term, a.weight], [b.term, b.weight]));
}

export type Rm3SearchOptions = Bm25SearchOptions & Partial<Rm3Params>;

/**
 * BM25 with RM3 query expansion over a Bm25Index (Anserini's `-bm25 -rm3`): a BM25
 * run for the feedback documents, then the expanded query as a weighted query. Per
 * query it holds only the feedback vectors (fbDocs · fbTerms terms), nothing per corpus.
 */
export class Rm3Retriever implements Retriever {
  readonly name = "bm25-rm3";
  readonly params: Readonly<Rm3Params>;

  constructor(
    readonly index: Bm25Index,
    params: Partial<Rm3Params> = {},
  ) {
    this.params = Object.freeze(validateRm3Params(params));
  }

  /** The weighted terms the query expands to (Anserini's `-rm3.outputQuery`), largest weight first. */
  async expand(query: QueryInput, options: Rm3SearchOptions = {}): Promise<WeightedTerm[]> {
    const p = validateRm3Params(options, this.params);
    const q = toQuery(query);
    const feedback = await this.index.search(q, p.fbDocs, options);
    const docs = feedback.map((c) => ({ docIndex: this.index.docIndex(c.document.id)!, score: c.score }));
    const terms: string[] = [];
    this.index.analyzer.forEachTerm(q.text, (t) => terms.push(t));
    return rm3ExpandQuery(this.index, terms, docs, p);
  }

  async search(query: QueryInput, k: number, options: Rm3SearchOptions = {}): Promise<Candidate[]> {
    if (typeof k !== "number" || !Number.isInteger(k) || k < 1) {
      throw new InvalidInputError(`k must be a positive integer, got ${String(k)}`, { field: "k" });
    }
    const expanded = await this.expand(query, options);
    throwIfAborted(options.signal);
    const hits = await this.index.searchWeighted(expanded, k, options);
    return hits.map((c) => ({ ...c, source: this.name, scores: { [this.name]: c.score } }));
  }
}
