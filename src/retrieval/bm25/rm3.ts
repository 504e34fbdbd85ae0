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

/** A feature vector keyed by term id (strings are looked up only to break ties and at the end). */
type TermVector = Map<number, number>;

/**
 * FeatureVector.pruneToSize: the k largest values in FeatureVector's order (at least one, as
 * Java's loop keeps one before testing). A bounded insertion rather than a full sort: a
 * document has hundreds of terms and k is 10.
 */
function pruneToSize(index: Bm25Index, vector: TermVector, k: number): TermVector {
  const keep = Math.max(1, k);
  const ids: number[] = [];
  const values: number[] = [];
  // true when (id1, v1) comes before (id2, v2)
  const before = (id1: number, v1: number, id2: number, v2: number) => v1 > v2 || (v1 === v2 && index.term(id1) < index.term(id2));
  for (const [id, v] of vector) {
    if (ids.length === keep && !before(id, v, ids[keep - 1], values[keep - 1])) continue;
    let j = ids.length === keep ? keep - 1 : ids.length;
    while (j > 0 && before(id, v, ids[j - 1], values[j - 1])) {
      ids[j] = ids[j - 1];
      values[j] = values[j - 1];
      j--;
    }
    ids[j] = id;
    values[j] = v;
  }
  return new Map(ids.map((id, i) => [id, values[i]]));
}

/** FeatureVector.computeL1Norm: a double sum of the float values. */
function l1Norm(vector: Map<unknown, number>): number {
  let norm = 0;
  for (const v of vector.values()) norm += Math.abs(v);
  return norm;
}

/** FeatureVector.scaleToUnitL1Norm: each value / norm (double), stored as float. */
function scaleToUnitL1Norm<K>(vector: Map<K, number>): Map<K, number> {
  const norm = l1Norm(vector);
  for (const [t, v] of vector) vector.set(t, f(v / norm));
  return vector;
}

/** Term id → whether it may be a feedback term; filled lazily, one byte per vocabulary term at most. */
const eligibleByIndex = new WeakMap<Bm25Index, Uint8Array>();
const UNKNOWN = 0;
const ELIGIBLE = 1;
const INELIGIBLE = 2;

function eligibilityOf(index: Bm25Index): Uint8Array {
  let cache = eligibleByIndex.get(index);
  if (cache === undefined) eligibleByIndex.set(index, (cache = new Uint8Array(index.vocabularySize)));
  return cache;
}

function checkFeedbackTerm(index: Bm25Index, cache: Uint8Array, id: number): number {
  const term = index.term(id);
  // reader.numDocs(): every stored document, as Lucene counts the index.
  const ok = term.length >= 2 && term.length <= 20 && FEEDBACK_TERM.test(term) && !(f(index.docFreq(id) / index.size) > MAX_DF_RATIO);
  return (cache[id] = ok ? ELIGIBLE : INELIGIBLE);
}

/** Rm3Reranker.createdFeatureVector by term id. */
function termVectorOf(index: Bm25Index, docIndex: number): TermVector {
  const { terms } = index.documentTerms(docIndex);
  const cache = eligibilityOf(index);
  const tf: TermVector = new Map();
  for (let i = 0; i < terms.length; i++) {
    const id = terms[i];
    const state = cache[id] === UNKNOWN ? checkFeedbackTerm(index, cache, id) : cache[id];
    if (state === ELIGIBLE) tf.set(id, (tf.get(id) ?? 0) + 1);
  }
  return tf;
}

const byTerm = (index: Bm25Index, vector: TermVector) => new Map([...vector].map(([id, v]) => [index.term(id), v]));

/**
 * Rm3Reranker.createdFeatureVector: a document's term frequencies, keeping only
 * feedback-worthy terms (2–20 characters, [a-z0-9]+, df ≤ 10% of the documents).
 */
export function feedbackTermVector(index: Bm25Index, docIndex: number): Map<string, number> {
  return byTerm(index, termVectorOf(index, docIndex));
}

function relevanceModel(index: Bm25Index, feedback: ReadonlyArray<FeedbackDocument>, fbDocs: number, fbTerms: number): TermVector {
  const docs = feedback.slice(0, fbDocs);
  const model: TermVector = new Map();
  for (const doc of docs) {
    const vector = pruneToSize(index, termVectorOf(index, doc.docIndex), fbTerms);
    const norm = f(l1Norm(vector));
    // Anserini skips empty feedback vectors (every term filtered out) rather than divide by zero.
    if (!(norm > MIN_NORM)) continue;
    const score = f(doc.score);
    // Java sums each term over the documents in rank order, in float; a document without the term adds 0.
    for (const [id, v] of vector) model.set(id, f((model.get(id) ?? 0) + f(f(v / norm) * score)));
  }
  if (model.size === 0) return model;
  return scaleToUnitL1Norm(pruneToSize(index, model, fbTerms));
}

/**
 * Rm3Reranker.estimateRelevanceModel: the feedback documents' pruned vectors mixed
 * by their BM25 scores, pruned to fbTerms and scaled to unit L1. Term → weight,
 * largest first.
 */
export function rm3RelevanceModel(index: Bm25Index, feedback: ReadonlyArray<FeedbackDocument>, params: Partial<Rm3Params> = {}): Map<string, number> {
  const { fbDocs, fbTerms } = validateRm3Params(params);
  return byTerm(index, relevanceModel(index, feedback, fbDocs, fbTerms));
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
  const model = byTerm(index, relevanceModel(index, feedback, p.fbDocs, p.fbTerms));
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
 * Feedback always comes from fbDocs documents, whatever k: Anserini takes min(hits, fbDocs),
 * so the two agree whenever k ≥ fbDocs, and here the top ranks never depend on k.
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
