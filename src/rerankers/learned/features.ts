import { InvalidInputError } from "../../core/errors.js";
import type { Candidate } from "../../core/types.js";
import { LENGTH_TABLE, lengthToNorm, luceneBm25Score, luceneIdf, normInverseCache } from "../../retrieval/bm25/lucene-bm25.js";
import type { AnalyzedDocument, CorpusView } from "./corpus-view.js";

/** One clause of an RM3-expanded query (an analyzed index term and its weight), as Rm3Retriever.expand returns it. */
export interface ExpansionTerm {
  term: string;
  weight: number;
}

/** Per-query inputs beyond the text that some features read. */
export interface ExtractionContext {
  /**
   * The query's RM3 expansion over the view's index, for `rm3_ratio_max` when candidates do
   * not carry `scores["bm25-rm3"]` (a BM25 first stage), and for `rm3_similarity_ratio_max`.
   * Without either, those features are NaN.
   */
  rm3Terms?: readonly ExpansionTerm[];
}

/**
 * Relevance features of (query, candidate) pairs. Names are part of a saved model: a
 * model lists the features it was trained on, by name, and the extractor computes
 * exactly those, in that order. Bump FEATURE_SET_VERSION when a definition changes.
 *
 * Most features are ratios or per-query normalized (score / best score in the list,
 * fraction of query terms matched…) because the shipped model is applied to
 * collections it never saw, whose raw BM25 scales differ with query length and corpus size.
 */
export const FEATURE_SET_VERSION = 2;

/** Candidate.scores key under which a BM25+RM3 first stage (Rm3Retriever) leaves its score. */
export const RM3_SCORE_KEY = "bm25-rm3";

/** BM25 parameters of the computed BM25 features (Anserini's defaults, as the first stage uses). */
export const FEATURE_BM25 = { k1: 0.9, b: 0.4 } as const;

export const FEATURE_DESCRIPTIONS = {
  bm25: "BM25 of title + text (k1 0.9, b 0.4) with the view's corpus statistics",
  bm25_title: "BM25 of the title field alone",
  bm25_text: "BM25 of the text field alone",
  bm25_ratio_max: "bm25 / the largest bm25 among the query's candidates",
  bm25_zscore: "bm25 standardized over the query's candidates",
  bm25_title_ratio_max: "bm25_title / the largest bm25_title among the candidates (NaN when the document has no title; 0 when no candidate's title matches)",
  first_stage_ratio_max: "first-stage score / the largest first-stage score among the candidates",
  first_stage_rank: "1-based first-stage rank",
  first_stage_rank_fraction: "first-stage rank / number of candidates (1/n for the top candidate, 1 for the last)",
  coverage: "fraction of distinct query terms present",
  idf_coverage: "IDF-weighted fraction of query terms present",
  title_coverage: "fraction of distinct query terms present in the title (NaN when the document has no title)",
  max_idf_matched_ratio: "largest IDF among matched terms / largest IDF among query terms",
  proximity: "matched terms / length of the smallest window covering all matched terms (NaN when < 2 match)",
  bigram_fraction: "fraction of adjacent query-term pairs found adjacent in the document (NaN for 1-term queries)",
  ordered_window_fraction: "fraction of adjacent query-term pairs found in query order within 8 positions (NaN for 1-term queries)",
  phrase_match: "1 when the whole analyzed query occurs as a phrase, else 0",
  term_density: "query-term occurrences / document length",
  doc_length_ratio: "document length / average document length",
  query_terms: "number of distinct analyzed query terms",
  rm3_ratio_max: "BM25+RM3 score (Anserini's -bm25 -rm3 defaults) / the largest among the candidates: scores[\"bm25-rm3\"] when the first stage was RM3, else the query's RM3 expansion scored on the candidate (NaN without an index)",
  ql_dirichlet: "query likelihood with Dirichlet smoothing (mu = the collection's average document length), minus the best candidate's, per query term (0 for the best, negative below)",
  dph_ratio_max: "DFR DPH score (Terrier's parameter-free hypergeometric model) / the largest among the candidates",
  bm25f_ratio_max: "BM25F of title + text (title term counts and length weighted 2) / the largest among the candidates (NaN when the document has no title)",
  centroid_similarity: "cosine of the candidate's (1 + log tf)·idf vector with the centroid of the first stage's top 10 (the candidate itself left out of it)",
  centroid_similarity_ratio_max: "centroid_similarity / the largest among the candidates",
  rm3_similarity_ratio_max: "cosine of the candidate's (1 + log tf)·idf vector with the query's RM3 relevance model (the expanded query's weights) / the largest among the candidates (NaN without an expansion)",
  rm3_rank_fraction: "rank of the candidate's BM25+RM3 score within the list / number of candidates (NaN when rm3_ratio_max is)",
} as const;

/** Weight of title term counts and length in bm25f_ratio_max. */
export const BM25F_TITLE_WEIGHT = 2;
/** First-stage top ranks whose centroid centroid_similarity compares with. */
export const CENTROID_DOCS = 10;

/** Dirichlet smoothing mass, as a multiple of the collection's average document length (scale-free across collections). */
export const DIRICHLET_MU_PER_AVG_LENGTH = 1;
/** Positions within which an ordered query-term pair counts for ordered_window_fraction. */
export const ORDERED_WINDOW = 8;

export type BuiltinFeature = keyof typeof FEATURE_DESCRIPTIONS;
export const BUILTIN_FEATURES = Object.keys(FEATURE_DESCRIPTIONS) as BuiltinFeature[];

/** Scores produced by earlier stages are features named `score:<name>` (Candidate.scores[name]); NaN when absent. */
export const EXTRA_SCORE_PREFIX = "score:";

export function validateFeatureNames(names: readonly string[], field = "features"): void {
  if (!Array.isArray(names) || names.length === 0) {
    throw new InvalidInputError(`${field} must be a non-empty list of feature names`, { field });
  }
  const seen = new Set<string>();
  for (const n of names) {
    const ok = typeof n === "string" && ((BUILTIN_FEATURES as string[]).includes(n) || (n.startsWith(EXTRA_SCORE_PREFIX) && n.length > EXTRA_SCORE_PREFIX.length));
    if (!ok) {
      throw new InvalidInputError(`${field}: unknown feature "${String(n)}" (known: ${BUILTIN_FEATURES.join(", ")}, or ${EXTRA_SCORE_PREFIX}<name>)`, { field });
    }
    if (seen.has(n)) throw new InvalidInputError(`${field}: feature "${n}" listed twice`, { field });
    seen.add(n);
  }
}

/** BM25 IDF as Lucene computes it (always positive). */
export function bm25Idf(docCount: number, docFreq: number): number {
  return Math.log(1 + (docCount - docFreq + 0.5) / (docFreq + 0.5));
}

interface AnalyzedQuery {
  /** Distinct analyzed terms, in first-occurrence order. */
  terms: string[];
  /** Occurrences of each distinct term in the query. */
  counts: number[];
  /** The analyzed query as slots, in order (duplicates kept), for bigrams and phrases. */
  sequence: number[];
  slotOf: Map<string, number>;
}

function analyzeQuery(view: CorpusView, text: string): AnalyzedQuery {
  const tokens = view.analyzer.analyze(text);
  const slotOf = new Map<string, number>();
  const terms: string[] = [];
  const counts: number[] = [];
  const sequence: number[] = [];
  for (const t of tokens) {
    let s = slotOf.get(t);
    if (s === undefined) {
      // Slots are Int16: a query of > 32k distinct terms is not a query.
      if (terms.length >= 32_000) break;
      s = terms.length;
      slotOf.set(t, s);
      terms.push(t);
      counts.push(0);
    }
    counts[s]++;
    sequence.push(s);
  }
  return { terms, counts, sequence, slotOf };
}

/**
 * One term's BM25 saturation as Lucene 8 scores it: tf / (tf + k1·(1 - b + b·len/avgdl)),
 * no (k1 + 1) factor, and the length through Lucene's lossy one-byte norm, so that the
 * `bm25` feature of an indexed document equals Winnow's first-stage BM25 score (up to
 * float32 rounding) and a model anchored on it starts exactly at the first-stage ranking.
 */
function bm25Part(tf: number, len: number, avgLen: number): number {
  if (tf === 0) return 0;
  const { k1, b } = FEATURE_BM25;
  const scoredLength = LENGTH_TABLE[lengthToNorm(len)];
  const norm = avgLen > 0 ? 1 - b + (b * scoredLength) / avgLen : 1;
  return tf / (tf + k1 * norm);
}

/** Smallest window (in positions) containing every distinct matched slot at least once. */
function smallestCoveringWindow(slots: Int16Array, matched: number, m: number): number {
  const need = new Int32Array(m);
  let have = 0;
  let best = Infinity;
  let left = 0;
  for (let right = 0; right < slots.length; right++) {
    const s = slots[right];
    if (s < 0) continue;
    if (need[s]++ === 0) have++;
    while (have === matched) {
      const ls = slots[left];
      if (ls >= 0) {
        if (right - left + 1 < best) best = right - left + 1;
        if (--need[ls] === 0) have--;
      }
      left++;
    }
  }
  return best;
}

/** Computes a model's features, by name, for all candidates of one query. */
export class FeatureExtractor {
  readonly names: readonly string[];
  private readonly builtinIndex: Map<string, number>;
  /** Dense per-term scratch for centroid_similarity (all zeros between calls). */
  private centroidScratch = new Float64Array(0);

  constructor(names: readonly string[]) {
    validateFeatureNames(names);
    this.names = [...names];
    this.builtinIndex = new Map(BUILTIN_FEATURES.map((n, i) => [n, i]));
  }

  /**
   * Row-major matrix: out[c * names.length + f]. `matchedTerms`, when given (length =
   * candidates), receives each candidate's number of distinct matched query terms.
   */
  extract(view: CorpusView, queryText: string, candidates: readonly Candidate[], matchedTerms?: Int32Array, context: ExtractionContext = {}): Float64Array {
    const q = analyzeQuery(view, queryText);
    const m = q.terms.length;
    const n = candidates.length;
    const B = BUILTIN_FEATURES.length;
    const all = new Float64Array(n * B); // every builtin, then projected onto the model's names
    const idf = view.docFreqs(q.terms).map((df) => bm25Idf(view.docCount, df));
    // Collection probabilities for QL and DPH; terms the collection lacks contribute nothing.
    const cf = view.collectionFreqs(q.terms);
    const totalTerms = view.totalTermCount;
    const mu = DIRICHLET_MU_PER_AVG_LENGTH * Math.max(1, view.avgDocLength);
    const rm3 = this.rm3Scorer(view, candidates, context);
    const idfSum = idf.reduce((a, b) => a + b, 0);
    const idfMax = idf.reduce((a, b) => Math.max(a, b), 0);
    const avgTitle = view.avgTitleLength;
    const avgText = Math.max(0, view.avgDocLength - avgTitle);
    const adjacentPairs: Array<[number, number]> = [];
    for (let i = 0; i + 1 < q.sequence.length; i++) {
      if (q.sequence[i] !== q.sequence[i + 1]) adjacentPairs.push([q.sequence[i], q.sequence[i + 1]]);
    }
    const col = (name: BuiltinFeature) => this.builtinIndex.get(name)!;
    const tfTitle = new Int32Array(m);
    const tfText = new Int32Array(m);
    const pairSeen = new Uint8Array(Math.max(1, m * m));
    const pairOrdered = new Uint8Array(Math.max(1, m * m));
    const lastSeen = new Int32Array(Math.max(1, m));

    for (let c = 0; c < n; c++) {
      const doc: AnalyzedDocument = view.readDocument(candidates[c], c, q.terms, q.slotOf);
      const { slots, titleLength } = doc;
      const len = slots.length;
      tfTitle.fill(0);
      tfText.fill(0);
      pairSeen.fill(0);
      pairOrdered.fill(0);
      lastSeen.fill(-ORDERED_WINDOW - 1);
      let occurrences = 0;
      for (let p = 0; p < len; p++) {
        const s = slots[p];
        if (s < 0) continue;
        occurrences++;
        if (p < titleLength) tfTitle[s]++;
        else tfText[s]++;
        // Bigram adjacency within the same field only.
        if (p + 1 < len && slots[p + 1] >= 0 && (p + 1 < titleLength) === (p < titleLength)) pairSeen[s * m + slots[p + 1]] = 1;
        // Ordered window: every query term seen in the last ORDERED_WINDOW positions precedes s.
        for (let a = 0; a < m; a++) if (a !== s && p - lastSeen[a] < ORDERED_WINDOW) pairOrdered[a * m + s] = 1;
        lastSeen[s] = p;
      }
      let bm25 = 0;
      let bm25Title = 0;
      let bm25Text = 0;
      let bm25f = 0;
      let matched = 0;
      let matchedIdf = 0;
      let maxMatchedIdf = 0;
      let titleMatched = 0;
      let ql = 0;
      let dph = 0;
      for (let s = 0; s < m; s++) {
        const tf = tfTitle[s] + tfText[s];
        const w = idf[s] * q.counts[s];
        bm25 += w * bm25Part(tf, len, view.avgDocLength);
        bm25Title += w * bm25Part(tfTitle[s], titleLength, avgTitle);
        bm25Text += w * bm25Part(tfText[s], len - titleLength, avgText);
        bm25f += w * bm25fPart(BM25F_TITLE_WEIGHT * tfTitle[s] + tfText[s], BM25F_TITLE_WEIGHT * titleLength + len - titleLength, BM25F_TITLE_WEIGHT * avgTitle + avgText);
        if (tf > 0) {
          matched++;
          matchedIdf += idf[s];
          if (idf[s] > maxMatchedIdf) maxMatchedIdf = idf[s];
        }
        if (tfTitle[s] > 0) titleMatched++;
        if (cf[s] > 0 && totalTerms > 0) {
          const pc = cf[s] / totalTerms;
          ql += q.counts[s] * Math.log((tf + mu * pc) / (len + mu));
          dph += q.counts[s] * dphPart(tf, len, view.avgDocLength, view.docCount, cf[s]);
        }
      }
      if (matchedTerms) matchedTerms[c] = matched;
      let pairsFound = 0;
      let orderedFound = 0;
      for (const [a, b] of adjacentPairs) {
        pairsFound += pairSeen[a * m + b];
        orderedFound += pairOrdered[a * m + b];
      }
      const hasTitle = titleLength > 0 || Boolean(candidates[c].document.title);
      const row = c * B;
      all[row + col("bm25")] = bm25;
      all[row + col("bm25_title")] = bm25Title;
      all[row + col("bm25_text")] = bm25Text;
      const rank = Number.isFinite(candidates[c].rank) ? candidates[c].rank : c + 1;
      all[row + col("first_stage_rank")] = rank;
      all[row + col("first_stage_rank_fraction")] = rank / Math.max(1, n);
      all[row + col("coverage")] = m ? matched / m : 0;
      all[row + col("idf_coverage")] = idfSum > 0 ? matchedIdf / idfSum : 0;
      // No title is missing evidence, not "no query term in the title".
      all[row + col("title_coverage")] = !hasTitle ? NaN : m ? titleMatched / m : 0;
      all[row + col("max_idf_matched_ratio")] = idfMax > 0 ? maxMatchedIdf / idfMax : 0;
      all[row + col("proximity")] = matched >= 2 ? matched / smallestCoveringWindow(slots, matched, m) : NaN;
      all[row + col("bigram_fraction")] = adjacentPairs.length ? pairsFound / adjacentPairs.length : NaN;
      all[row + col("ordered_window_fraction")] = adjacentPairs.length ? orderedFound / adjacentPairs.length : NaN;
      all[row + col("phrase_match")] = q.sequence.length >= 2 && pairsFound === adjacentPairs.length && containsPhrase(slots, q.sequence) ? 1 : 0;
      all[row + col("term_density")] = len ? occurrences / len : 0;
      all[row + col("doc_length_ratio")] = view.avgDocLength > 0 ? len / view.avgDocLength : 0;
      all[row + col("query_terms")] = m;
      all[row + col("ql_dirichlet")] = ql;
      all[row + col("dph_ratio_max")] = dph;
      all[row + col("rm3_ratio_max")] = rm3 ? rm3(c, slots.length) : NaN;
      all[row + col("bm25_title_ratio_max")] = hasTitle ? 0 : NaN; // the ratio is filled in below
      all[row + col("bm25f_ratio_max")] = hasTitle ? bm25f : NaN;
    }
    // Per-query normalized variants.
    normalizeByMax(all, n, B, col("bm25"), col("bm25_ratio_max"));
    normalizeTitleByMax(all, n, B, col("bm25_title"), col("bm25_title_ratio_max"));
    normalizeByMax(all, n, B, col("dph_ratio_max"), col("dph_ratio_max"));
    normalizeByMax(all, n, B, col("bm25f_ratio_max"), col("bm25f_ratio_max"));
    rankFraction(all, n, B, col("rm3_ratio_max"), col("rm3_rank_fraction"));
    normalizeByMax(all, n, B, col("rm3_ratio_max"), col("rm3_ratio_max"));
    this.similarities(view, candidates, context, all, B, col);
    relativeToBest(all, n, B, col("ql_dirichlet"), Math.max(1, m));
    zScore(all, n, B, col("bm25"), col("bm25_zscore"));
    let maxFirst = -Infinity;
    for (const c of candidates) if (Number.isFinite(c.score) && c.score > maxFirst) maxFirst = c.score;
    for (let c = 0; c < n; c++) {
      const s = candidates[c].score;
      all[c * B + col("first_stage_ratio_max")] = maxFirst > 0 && Number.isFinite(s) ? s / maxFirst : NaN;
    }

    const F = this.names.length;
    const out = new Float64Array(n * F);
    this.names.forEach((name, f) => {
      const b = this.builtinIndex.get(name);
      if (b !== undefined) {
        for (let c = 0; c < n; c++) out[c * F + f] = all[c * B + b];
      } else {
        const key = name.slice(EXTRA_SCORE_PREFIX.length);
        for (let c = 0; c < n; c++) {
          const v = candidates[c].scores?.[key];
          out[c * F + f] = typeof v === "number" && Number.isFinite(v) ? v : NaN;
        }
      }
    });
    return out;
  }

  /** Whether the model reads an RM3 feature (callers compute the expansion only then). */
  get readsRm3(): boolean {
    return this.names.some((n) => n === "rm3_ratio_max" || n === "rm3_rank_fraction" || n === "rm3_similarity_ratio_max");
  }

  /** Whether the model needs the RM3 expansion even when candidates carry RM3 scores. */
  get readsRm3Model(): boolean {
    return this.names.includes("rm3_similarity_ratio_max");
  }

  /**
   * Pseudo-relevance "cluster" evidence, length-free (cosines of unit vectors): each
   * candidate's similarity to the first stage's top 10 and to the RM3 relevance model.
   * Computed only when the model reads one of them: it reads every candidate's whole
   * term vector, not only the query terms.
   */
  private similarities(view: CorpusView, candidates: readonly Candidate[], context: ExtractionContext, all: Float64Array, B: number, col: (name: BuiltinFeature) => number): void {
    const n = candidates.length;
    const wanted = this.names.some((x) => x === "centroid_similarity" || x === "centroid_similarity_ratio_max" || x === "rm3_similarity_ratio_max");
    for (let c = 0; c < n; c++) {
      all[c * B + col("centroid_similarity")] = NaN;
      all[c * B + col("centroid_similarity_ratio_max")] = NaN;
      all[c * B + col("rm3_similarity_ratio_max")] = NaN;
    }
    if (!wanted || n === 0) return;
    const N = Math.max(1, view.docCount);
    // Unit (1 + log tf)·idf vectors as parallel typed arrays: this runs on
    // every candidate's whole vocabulary, so no Map per document (bench/learned.ts times it).
    let maxKey = 0;
    const vectors = candidates.map((cand, c) => {
      const { keys, counts, maxKey: m } = view.termCounts(cand, c);
      if (m > maxKey) maxKey = m;
      const weights = new Float64Array(keys.length);
      let norm = 0;
      for (let i = 0; i < keys.length; i++) {
        const w = (1 + Math.log(counts[i])) * bm25Idf(N, view.docFreqOfKey(keys[i]));
        weights[i] = w;
        norm += w * w;
      }
      norm = Math.sqrt(norm);
      if (norm > 0) for (let i = 0; i < weights.length; i++) weights[i] /= norm;
      return { keys, weights };
    });
    const rankOf = (c: number) => (Number.isFinite(candidates[c].rank) ? candidates[c].rank : c + 1);
    const top: number[] = [];
    for (let c = 0; c < n; c++) if (rankOf(c) <= CENTROID_DOCS) top.push(c);
    // The centroid in a dense scratch array indexed by term key (reused across queries,
    // zeroed after): a lookup per term of every candidate, so an array, not a Map.
    if (this.centroidScratch.length <= maxKey) this.centroidScratch = new Float64Array(Math.max(maxKey + 1, 2 * this.centroidScratch.length));
    const centroid = this.centroidScratch;
    for (const c of top) {
      const { keys, weights } = vectors[c];
      for (let i = 0; i < keys.length; i++) centroid[keys[i]] += weights[i];
    }
    let centroidSq = 0;
    const seen = new Set<number>();
    for (const c of top) for (const k of vectors[c].keys) if (!seen.has(k)) (seen.add(k), (centroidSq += centroid[k] * centroid[k]));
    const inTop = new Set(top);
    const dots = new Float64Array(n);
    for (let c = 0; c < n; c++) {
      const { keys, weights } = vectors[c];
      let dot = 0;
      for (let i = 0; i < keys.length; i++) dot += weights[i] * centroid[keys[i]];
      dots[c] = dot;
    }
    for (const k of seen) centroid[k] = 0;
    for (let c = 0; c < n; c++) {
      const { keys } = vectors[c];
      let dot = dots[c];
      // Leave the candidate out of the centroid it is compared with: |S − v|² = |S|² − 2·S·v + 1.
      let sq = centroidSq;
      if (inTop.has(c) && keys.length > 0) {
        sq = centroidSq - 2 * dot + 1;
        dot -= 1;
      }
      all[c * B + col("centroid_similarity")] = sq > 1e-12 ? Math.max(0, dot) / Math.sqrt(sq) : 0;
    }
    normalizeByMax(all, n, B, col("centroid_similarity"), col("centroid_similarity_ratio_max"));
    const terms = context.rm3Terms?.filter((t) => t.weight > 0);
    if (!terms?.length) return;
    const model = new Map<number, number>();
    for (const t of terms) {
      const k = view.termKey(t.term);
      if (k !== undefined) model.set(k, (model.get(k) ?? 0) + t.weight);
    }
    let modelNorm = 0;
    for (const w of model.values()) modelNorm += w * w;
    modelNorm = Math.sqrt(modelNorm);
    if (modelNorm === 0) return;
    for (let c = 0; c < n; c++) {
      const { keys, weights } = vectors[c];
      let dot = 0;
      for (let i = 0; i < keys.length; i++) dot += weights[i] * (model.get(keys[i]) ?? 0);
      all[c * B + col("rm3_similarity_ratio_max")] = dot / modelNorm;
    }
    normalizeByMax(all, n, B, col("rm3_similarity_ratio_max"), col("rm3_similarity_ratio_max"));
  }

  /**
   * Candidate c's BM25+RM3 score: the first stage's when it left one, else the expanded
   * query scored as Bm25Index.searchWeighted scores it (boost · idf in float, Lucene's
   * norms), so it equals Rm3Retriever's score for that document. undefined = no source.
   */
  private rm3Scorer(view: CorpusView, candidates: readonly Candidate[], context: ExtractionContext): ((c: number, len: number) => number) | undefined {
    if (!this.readsRm3) return undefined;
    const given = (c: number) => {
      const v = candidates[c].scores?.[RM3_SCORE_KEY];
      return typeof v === "number" && Number.isFinite(v) ? v : undefined;
    };
    const terms = context.rm3Terms?.filter((t) => t.weight > 0);
    if (!terms?.length) return (c) => given(c) ?? NaN;
    const names = terms.map((t) => t.term);
    const slotOf = new Map(names.map((t, i) => [t, i]));
    const weights = view.docFreqs(names).map((df, i) => (df > 0 ? Math.fround(Math.fround(terms[i].weight) * luceneIdf(df, view.docCount)) : 0));
    const normInverse = normInverseCache(FEATURE_BM25, view.avgDocLength);
    const tf = new Int32Array(names.length);
    return (c, len) => {
      const g = given(c);
      if (g !== undefined) return g;
      const { slots } = view.readDocument(candidates[c], c, names, slotOf);
      tf.fill(0);
      for (let p = 0; p < slots.length; p++) if (slots[p] >= 0) tf[slots[p]]++;
      const inv = normInverse[lengthToNorm(len)];
      let sum = 0;
      for (let t = 0; t < names.length; t++) if (tf[t] > 0 && weights[t] > 0) sum += luceneBm25Score(weights[t], tf[t], inv);
      return Math.fround(sum);
    };
  }
}

/**
 * Terrier's DPH (DFR, hypergeometric, parameter-free): one term's score for a document of
 * length `len` with tf occurrences, the term occurring `cf` times in a collection of
 * `docCount` documents of average length `avgLen`. 0 when tf = 0 or the document is the term.
 */
export function dphPart(tf: number, len: number, avgLen: number, docCount: number, cf: number): number {
  if (tf <= 0 || len <= 0 || cf <= 0) return 0;
  const f = tf / len;
  if (f >= 1) return 0;
  const norm = ((1 - f) * (1 - f)) / (tf + 1);
  return norm * (tf * Math.log2(((tf * avgLen) / len) * (docCount / cf)) + 0.5 * Math.log2(2 * Math.PI * tf * (1 - f)));
}

/** BM25F's saturation of a field-weighted count over a field-weighted length (no Lucene norm: not a first-stage score). */
function bm25fPart(tf: number, len: number, avgLen: number): number {
  if (tf <= 0) return 0;
  const { k1, b } = FEATURE_BM25;
  const norm = avgLen > 0 ? 1 - b + (b * len) / avgLen : 1;
  return tf / (tf + k1 * norm);
}

/** to = 1-based rank of `from` among the list (descending; ties share the better rank) / n; NaN stays NaN. */
function rankFraction(all: Float64Array, n: number, B: number, from: number, to: number): void {
  const order: number[] = [];
  for (let c = 0; c < n; c++) if (Number.isFinite(all[c * B + from])) order.push(c);
  order.sort((a, b) => all[b * B + from] - all[a * B + from]);
  for (let c = 0; c < n; c++) all[c * B + to] = NaN;
  let rank = 0;
  for (let i = 0; i < order.length; i++) {
    if (i === 0 || all[order[i] * B + from] < all[order[i - 1] * B + from]) rank = i + 1;
    all[order[i] * B + to] = rank / n;
  }
}

function containsPhrase(slots: Int16Array, phrase: number[]): boolean {
  outer: for (let p = 0; p + phrase.length <= slots.length; p++) {
    for (let k = 0; k < phrase.length; k++) if (slots[p + k] !== phrase[k]) continue outer;
    return true;
  }
  return false;
}

/** to = from / the list's largest `from` (missing values stay missing; NaN when nothing is positive). */
function normalizeByMax(all: Float64Array, n: number, B: number, from: number, to: number): void {
  let max = 0;
  for (let c = 0; c < n; c++) {
    const v = all[c * B + from];
    if (v > max) max = v;
  }
  for (let c = 0; c < n; c++) {
    const v = all[c * B + from];
    all[c * B + to] = max > 0 && Number.isFinite(v) ? v / max : NaN;
  }
}

/** Title ratio: NaN already marks documents without a title; the others get bm25_title / best (0 when no title matches). */
function normalizeTitleByMax(all: Float64Array, n: number, B: number, from: number, to: number): void {
  let max = 0;
  for (let c = 0; c < n; c++) if (all[c * B + from] > max) max = all[c * B + from];
  for (let c = 0; c < n; c++) {
    if (Number.isNaN(all[c * B + to])) continue;
    all[c * B + to] = max > 0 ? all[c * B + from] / max : 0;
  }
}

/** In place: (value − the list's best value) / per, so the best candidate is 0 on every collection. */
function relativeToBest(all: Float64Array, n: number, B: number, col: number, per: number): void {
  let best = -Infinity;
  for (let c = 0; c < n; c++) if (all[c * B + col] > best) best = all[c * B + col];
  for (let c = 0; c < n; c++) all[c * B + col] = Number.isFinite(best) ? (all[c * B + col] - best) / per : NaN;
}

function zScore(all: Float64Array, n: number, B: number, from: number, to: number): void {
  let mean = 0;
  for (let c = 0; c < n; c++) mean += all[c * B + from];
  mean /= Math.max(1, n);
  let variance = 0;
  for (let c = 0; c < n; c++) variance += (all[c * B + from] - mean) ** 2;
  const sd = Math.sqrt(variance / Math.max(1, n));
  for (let c = 0; c < n; c++) all[c * B + to] = sd > 0 ? (all[c * B + from] - mean) / sd : 0;
}
