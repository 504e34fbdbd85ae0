import { compareIdsCodePoint } from "../../core/id-order.js";
import { InvalidInputError, throwIfAborted } from "../../core/errors.js";
import { toQuery } from "../../core/inputs.js";
import type { Candidate, Document, QueryInput, Retriever, SearchOptions } from "../../core/types.js";
import { EnglishAnalyzer } from "../analysis/english-analyzer.js";
import { TokenMemo } from "../analysis/token-memo.js";
import { smallestK } from "./smallest-k.js";
import { blockMaxMaxScoreTopK } from "./pruning/block-max-maxscore.js";
import { MemoryPostings } from "./pruning/memory-postings.js";
import { matchesMetadataFilter, validateMetadataFilter } from "../pools/metadata-filter.js";
import {
  bytesOf,
  indexCorrupt,
  readIndexDirectory,
  toUint32Array,
  toUint8Array,
  writeIndexDirectory,
  type WriteIndexOptions,
} from "./index-directory.js";
import {
  DEFAULT_BM25_PARAMS,
  lengthToNorm,
  luceneAvgFieldLength,
  luceneBm25Score,
  luceneIdf,
  normInverseCache,
  type Bm25Params,
} from "./lucene-bm25.js";

export type { Bm25Params } from "./lucene-bm25.js";
export { DEFAULT_BM25_PARAMS } from "./lucene-bm25.js";

const MAX_PACKED_DOCS = 1 << 21;
const PACK_SHIFT = 2 ** 21;
const SCORE_F32 = new Float32Array(1);
const SCORE_BITS = new Uint32Array(SCORE_F32.buffer);

export const BM25_INDEX_FORMAT = "winnow-bm25";
/** 2: the manifest carries its own checksum (version 1 indexes are refused with "rebuild it"). */
export const BM25_INDEX_VERSION = 2;
/** Describes the analysis chain in the manifest so a future chain cannot silently read old terms. */
const ANALYZER_ID = "lucene-english-8:standard,possessive,lowercase,stop33,porter";

export interface Bm25BuildOptions extends Partial<Bm25Params> {
  /** Called every 1,000 documents and once at the end with the number read so far. */
  onProgress?: (docsDone: number) => void;
  signal?: AbortSignal;
}

export type Bm25SearchOptions = SearchOptions & Partial<Bm25Params>;

/** One clause of a weighted query: an index term (already analyzed) and its boost. */
export interface WeightedTerm {
  term: string;
  weight: number;
}

/** The arrays an index is made of; the same in memory and on disk. */
interface IndexData {
  docs: Document[];
  terms: string[];
  /** Postings of term t are [postingsOffsets[t], postingsOffsets[t+1]): doc indexes ascending, with their term frequency. */
  postingsOffsets: Uint32Array;
  postingsDocs: Uint32Array;
  postingsFreqs: Uint32Array;
  /** Lucene's one-byte length norm per document. */
  norms: Uint8Array;
  /** Analyzed term ids of document d are docTerms[docTermOffsets[d] .. docTermOffsets[d+1]), title first. */
  docTermOffsets: Uint32Array;
  docTerms: Uint32Array;
  titleLengths: Uint32Array;
  /** Position of each document in id order (UTF-8 byte order, as Lucene sorts ids): the tie-breaker. */
  idRank: Uint32Array;
  skippedBlank: number;
}

function validateParams(p: Partial<Bm25Params>, base: Bm25Params): Bm25Params {
  const k1 = p.k1 ?? base.k1;
  const b = p.b ?? base.b;
  if (typeof k1 !== "number" || !Number.isFinite(k1) || k1 < 0) {
    throw new InvalidInputError(`k1 must be a finite number >= 0, got ${String(k1)}`, { field: "k1" });
  }
  if (typeof b !== "number" || !Number.isFinite(b) || b < 0 || b > 1) {
    throw new InvalidInputError(`b must be a number between 0 and 1, got ${String(b)}`, { field: "b" });
  }
  return { k1, b };
}

class GrowableUint32 {
  data = new Uint32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  toArray(): Uint32Array {
    return this.data.slice(0, this.length);
  }
}

/** Accumulates analyzed documents, then inverts them into compact postings. */
class IndexBuilder {
  private readonly docs: Document[] = [];
  private readonly ids = new Set<string>();
  private readonly termIds = new Map<string, number>();
  private readonly terms: string[] = [];
  /** Surface token → term id (-1: stop word), so the term dictionary is hit once per distinct token. */
  private readonly tokenTermIds = new TokenMemo<number>(Number.MAX_SAFE_INTEGER);
  private readonly resolveToken = (token: string): number => {
    const term = this.analyzer.termOfToken(token);
    return term === null ? -1 : this.termId(term);
  };
  private readonly docTerms = new GrowableUint32();
  private readonly docTermOffsets = new GrowableUint32();
  private readonly titleLengths = new GrowableUint32();
  private skippedBlank = 0;
  private position = 0;

  constructor(private readonly analyzer: EnglishAnalyzer) {
    this.docTermOffsets.push(0);
  }

  get count(): number {
    return this.docs.length;
  }

  add(doc: Document): void {
    const where = `documents[${this.position++}]`;
    if (doc === null || typeof doc !== "object") throw new InvalidInputError(`${where} must be a document object`, { field: where });
    if (typeof doc.id !== "string" || doc.id.length === 0) {
      throw new InvalidInputError(`${where}.id must be a non-empty string`, { field: `${where}.id` });
    }
    if (typeof doc.text !== "string") throw new InvalidInputError(`${where}.text must be a string (document "${doc.id}")`, { field: `${where}.text` });
    if (doc.title !== undefined && typeof doc.title !== "string") {
      throw new InvalidInputError(`${where}.title must be a string (document "${doc.id}")`, { field: `${where}.title` });
    }
    if (this.ids.has(doc.id)) throw new InvalidInputError(`${where}.id "${doc.id}" is a duplicate document id`, { field: `${where}.id` });
    // Anserini skips documents whose flat contents are blank; so do we, so statistics match.
    if ((doc.title ?? "").trim().length === 0 && doc.text.trim().length === 0) {
      this.skippedBlank++;
      return;
    }
    this.ids.add(doc.id);
    this.docs.push(doc);
    // Title and text analyzed apart equal "title text" analyzed whole (whitespace always breaks a token),
    // and this way the title's term count is known.
    const before = this.docTerms.length;
    if (doc.title) this.addText(doc.title);
    this.titleLengths.push(this.docTerms.length - before);
    this.addText(doc.text);
    this.docTermOffsets.push(this.docTerms.length);
  }

  private addText(text: string): void {
    const memo = this.tokenTermIds;
    const docTerms = this.docTerms;
    this.analyzer.forEachTokenRange(text, (start, end) => {
      const id = memo.get(text, start, end, this.resolveToken);
      if (id >= 0) docTerms.push(id);
    });
  }

  private termId(term: string): number {
    let id = this.termIds.get(term);
    if (id === undefined) {
      id = this.terms.length;
      this.terms.push(term);
      this.termIds.set(term, id);
    }
    return id;
  }

  finish(): IndexData {
    const docTerms = this.docTerms.toArray();
    const docTermOffsets = this.docTermOffsets.toArray();
    const n = this.docs.length;
    const v = this.terms.length;
    const df = new Uint32Array(v);
    const last = new Int32Array(v).fill(-1);
    for (let d = 0; d < n; d++) {
      for (let p = docTermOffsets[d]; p < docTermOffsets[d + 1]; p++) {
        const t = docTerms[p];
        if (last[t] !== d) {
          last[t] = d;
          df[t]++;
        }
      }
    }
    const postingsOffsets = new Uint32Array(v + 1);
    for (let t = 0; t < v; t++) postingsOffsets[t + 1] = postingsOffsets[t] + df[t];
    const total = postingsOffsets[v];
    const postingsDocs = new Uint32Array(total);
    const postingsFreqs = new Uint32Array(total);
    const cursor = postingsOffsets.slice(0, v);
    const lastPos = new Uint32Array(v);
    last.fill(-1);
    const norms = new Uint8Array(n);
    for (let d = 0; d < n; d++) {
      const start = docTermOffsets[d];
      const end = docTermOffsets[d + 1];
      norms[d] = lengthToNorm(end - start);
      for (let p = start; p < end; p++) {
        const t = docTerms[p];
        if (last[t] !== d) {
          last[t] = d;
          const pos = cursor[t]++;
          postingsDocs[pos] = d;
          postingsFreqs[pos] = 1;
          lastPos[t] = pos;
        } else {
          postingsFreqs[lastPos[t]]++;
        }
      }
    }
    const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => compareIdsCodePoint(this.docs[a].id, this.docs[b].id));
    const idRank = new Uint32Array(n);
    order.forEach((d, rank) => (idRank[d] = rank));
    return {
      docs: this.docs,
      terms: this.terms,
      postingsOffsets,
      postingsDocs,
      postingsFreqs,
      norms,
      docTermOffsets,
      docTerms,
      titleLengths: this.titleLengths.toArray(),
      idRank,
      skippedBlank: this.skippedBlank,
    };
  }
}

/**
 * An in-process BM25 index that scores exactly like Lucene 8 / Anserini (see
 * lucene-bm25.ts) over Lucene's English analysis chain. Documents are stored with
 * the index, so candidates carry the full Document.
 *
 * Search is term-at-a-time into a dense score array, then a size-k heap; ties go
 * to the smaller document id. Metadata filters are a pre-filter bitmap over the
 * documents, so `k` results come back whenever `k` matching documents contain a
 * query term (no over-fetch guesswork).
 */
export class Bm25Index implements Retriever {
  readonly name = "bm25";
  /**
   * @internal Largest index that uses packed-key top-k (capped at 2^21 by the key layout);
   * bigger ones use the heap. Tests lower it to exercise the heap.
   */
  static packedTopKLimit = MAX_PACKED_DOCS;
  /** @internal Off makes every search exhaustive (tests compare the two; both are exact). */
  static dynamicPruning = true;
  readonly analyzer: EnglishAnalyzer;
  readonly params: Bm25Params;
  /** Documents with at least one indexed term (Lucene's docCount, the N of idf). */
  readonly docCount: number;
  readonly avgDocLength: number;
  /** Blank documents skipped at build time. */
  readonly skippedBlank: number;

  private readonly data: IndexData;
  private readonly termIds: Map<string, number>;
  private readonly docIndexes: Map<string, number>;
  private readonly sumTotalTermFreq: number;
  private readonly defaultNormCache: Float32Array;
  private readonly idfs: Float32Array;
  // Scratch space reused by every search; safe because search never awaits mid-scoring.
  private readonly accumulator: Float64Array;
  private readonly touchedFlags: Uint8Array;
  private readonly touched: Uint32Array;
  private filterCache = new Map<string, Uint8Array>();
  /** Document index by id rank (inverse of idRank); only kept when ranks fit the packed sort keys. */
  private readonly idOrder: Uint32Array | undefined;
  private keyScratch: Float64Array | undefined;
  /** Block-max bounds for pruned search, built term by term on first use. */
  private memoryPostings: MemoryPostings | undefined;

  private constructor(data: IndexData, params: Bm25Params, analyzer: EnglishAnalyzer) {
    this.data = data;
    this.params = Object.freeze({ ...params });
    this.analyzer = analyzer;
    this.skippedBlank = data.skippedBlank;
    const n = data.docs.length;
    let docCount = 0;
    for (let d = 0; d < n; d++) if (data.docTermOffsets[d + 1] > data.docTermOffsets[d]) docCount++;
    this.docCount = docCount;
    this.sumTotalTermFreq = data.docTerms.length;
    this.avgDocLength = luceneAvgFieldLength(this.sumTotalTermFreq, docCount);
    this.termIds = new Map(data.terms.map((t, i) => [t, i]));
    this.docIndexes = new Map(data.docs.map((d, i) => [d.id, i]));
    this.defaultNormCache = normInverseCache(this.params, this.avgDocLength);
    this.idfs = new Float32Array(data.terms.length);
    for (let t = 0; t < data.terms.length; t++) {
      this.idfs[t] = luceneIdf(data.postingsOffsets[t + 1] - data.postingsOffsets[t], docCount);
    }
    this.accumulator = new Float64Array(n);
    this.touchedFlags = new Uint8Array(n);
    this.touched = new Uint32Array(n);
    if (n <= Math.min(MAX_PACKED_DOCS, Bm25Index.packedTopKLimit)) {
      this.idOrder = new Uint32Array(n);
      for (let d = 0; d < n; d++) this.idOrder[data.idRank[d]] = d;
    }
  }

  /** Indexes documents (sync or async iterable), skipping blank ones; rejects duplicate ids. */
  static async build(docs: Iterable<Document> | AsyncIterable<Document>, options: Bm25BuildOptions = {}): Promise<Bm25Index> {
    const params = validateParams(options, DEFAULT_BM25_PARAMS);
    if (docs === null || typeof docs !== "object" || (!(Symbol.iterator in docs) && !(Symbol.asyncIterator in docs))) {
      throw new InvalidInputError("documents must be an iterable or async iterable of documents", { field: "documents" });
    }
    const analyzer = new EnglishAnalyzer();
    const builder = new IndexBuilder(analyzer);
    let seen = 0;
    const step = (doc: Document) => {
      builder.add(doc);
      if (++seen % 1000 === 0) {
        throwIfAborted(options.signal);
        options.onProgress?.(seen);
      }
    };
    if (Symbol.asyncIterator in docs) for await (const doc of docs) step(doc);
    else for (const doc of docs) step(doc);
    options.onProgress?.(seen);
    return new Bm25Index(builder.finish(), params, analyzer);
  }

  /** Number of documents stored (blank ones excluded). */
  get size(): number {
    return this.data.docs.length;
  }

  /** Number of distinct indexed terms. */
  get vocabularySize(): number {
    return this.data.terms.length;
  }

  termId(term: string): number | undefined {
    return this.termIds.get(term);
  }

  term(termId: number): string {
    this.checkTermId(termId);
    return this.data.terms[termId];
  }

  docFreq(termId: number): number {
    this.checkTermId(termId);
    return this.data.postingsOffsets[termId + 1] - this.data.postingsOffsets[termId];
  }

  /** Lucene's BM25 idf of a term over this index. */
  idf(termId: number): number {
    this.checkTermId(termId);
    return this.idfs[termId];
  }

  docIndex(id: string): number | undefined {
    return this.docIndexes.get(id);
  }

  document(docIndex: number): Document {
    this.checkDocIndex(docIndex);
    return this.data.docs[docIndex];
  }

  /** Analyzed term ids of a document in order, title terms first (`titleLength` of them). */
  documentTerms(docIndex: number): { terms: Uint32Array; titleLength: number } {
    this.checkDocIndex(docIndex);
    const { docTerms, docTermOffsets, titleLengths } = this.data;
    return { terms: docTerms.subarray(docTermOffsets[docIndex], docTermOffsets[docIndex + 1]), titleLength: titleLengths[docIndex] };
  }

  /** Term ids of a query's terms known to the index, in query order, repeats kept (a repeat boosts the term). */
  queryTermIds(text: string): number[] {
    const out: number[] = [];
    this.analyzer.forEachTerm(text, (t) => {
      const id = this.termIds.get(t);
      if (id !== undefined) out.push(id);
    });
    return out;
  }

  /** BM25 of one document for a query given as term ids (repeats boost), as `search` would score it. */
  scoreDocument(queryTermIds: ArrayLike<number>, docIndex: number, params: Partial<Bm25Params> = {}): number {
    this.checkDocIndex(docIndex);
    const cache = this.normCacheFor(params);
    const counts = new Map<number, number>();
    for (let i = 0; i < queryTermIds.length; i++) {
      const t = queryTermIds[i];
      this.checkTermId(t);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    const { terms } = this.documentTerms(docIndex);
    const normInverse = cache[this.data.norms[docIndex]];
    let sum = 0;
    for (const [t, count] of counts) {
      let freq = 0;
      for (let i = 0; i < terms.length; i++) if (terms[i] === t) freq++;
      if (freq > 0) sum += luceneBm25Score(Math.fround(count * this.idfs[t]), freq, normInverse);
    }
    return Math.fround(sum);
  }

  async search(query: QueryInput, k: number, options: Bm25SearchOptions = {}): Promise<Candidate[]> {
    throwIfAborted(options.signal);
    const q = toQuery(query);
    if (typeof k !== "number" || !Number.isInteger(k) || k < 1) {
      throw new InvalidInputError(`k must be a positive integer, got ${String(k)}`, { field: "k" });
    }
    const cache = this.normCacheFor(options);
    const mask = options.filter === undefined ? undefined : this.filterMask(options.filter);
    return this.candidatesOf(this.topK(q.text, k, cache, mask));
  }

  /**
   * Lucene's BooleanQuery of SHOULD BoostQuery(TermQuery(term), weight) clauses, as
   * Anserini's RM3 runs its expanded query: each term's BM25 weight is boost · idf in
   * float, the same scoring, filter and ties (smaller id first) as `search`. Terms are
   * index terms (already analyzed); ones the index lacks match nothing, and a term given
   * twice has its boosts summed (as Lucene dedupes SHOULD clauses).
   */
  async searchWeighted(terms: ReadonlyArray<WeightedTerm>, k: number, options: Bm25SearchOptions = {}): Promise<Candidate[]> {
    throwIfAborted(options.signal);
    if (!Array.isArray(terms)) throw new InvalidInputError("terms must be an array of {term, weight}", { field: "terms" });
    if (typeof k !== "number" || !Number.isInteger(k) || k < 1) {
      throw new InvalidInputError(`k must be a positive integer, got ${String(k)}`, { field: "k" });
    }
    const boosts = new Map<number, number>();
    terms.forEach((t, i) => {
      if (t === null || typeof t !== "object" || typeof t.term !== "string") {
        throw new InvalidInputError(`terms[${i}].term must be a string`, { field: `terms[${i}].term` });
      }
      if (typeof t.weight !== "number" || !Number.isFinite(t.weight) || t.weight < 0) {
        throw new InvalidInputError(`terms[${i}].weight must be a finite number >= 0, got ${String(t.weight)}`, { field: `terms[${i}].weight` });
      }
      const id = this.termIds.get(t.term);
      if (id !== undefined) boosts.set(id, Math.fround((boosts.get(id) ?? 0) + Math.fround(t.weight)));
    });
    const cache = this.normCacheFor(options);
    const mask = options.filter === undefined ? undefined : this.filterMask(options.filter);
    return this.candidatesOf(this.topKOfClauses(boosts, k, cache, mask));
  }

  private candidatesOf([docs, scores]: [Uint32Array, Float32Array]): Candidate[] {
    const out: Candidate[] = new Array(docs.length);
    for (let i = 0; i < docs.length; i++) {
      const score = scores[i];
      out[i] = { document: this.data.docs[docs[i]], score, rank: i + 1, source: "bm25", scores: { bm25: score } };
    }
    return out;
  }

  private normCacheFor(p: Partial<Bm25Params>): Float32Array {
    if ((p.k1 === undefined || p.k1 === this.params.k1) && (p.b === undefined || p.b === this.params.b)) return this.defaultNormCache;
    return normInverseCache(validateParams(p, this.params), this.avgDocLength);
  }

  private filterMask(filter: unknown): Uint8Array {
    const valid = validateMetadataFilter(filter);
    const key = JSON.stringify(valid);
    let mask = this.filterCache.get(key);
    if (mask === undefined) {
      const docs = this.data.docs;
      mask = new Uint8Array(docs.length);
      for (let d = 0; d < docs.length; d++) mask[d] = matchesMetadataFilter(docs[d].metadata, valid) ? 1 : 0;
      if (this.filterCache.size >= 32) this.filterCache = new Map();
      this.filterCache.set(key, mask);
    }
    return mask;
  }

  /** Scores every document sharing a term with the query, keeps the best k (ties: smaller id first). */
  private topK(text: string, k: number, normInverse: Float32Array, mask: Uint8Array | undefined): [Uint32Array, Float32Array] {
    // One SHOULD clause per distinct term, boosted by how often the query repeats it (Anserini's bag of words).
    const counts = new Map<number, number>();
    this.analyzer.forEachTerm(text, (t) => {
      const id = this.termIds.get(t);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    });
    return this.topKOfClauses(counts, k, normInverse, mask);
  }

  /** Scores the documents matching any clause (term id → boost; BM25 weight = boost · idf in float), keeps the best k. */
  private topKOfClauses(boosts: Map<number, number>, k: number, normInverse: Float32Array, mask: Uint8Array | undefined): [Uint32Array, Float32Array] {
    const { postingsOffsets, postingsDocs, postingsFreqs, norms, idRank } = this.data;
    // Bounds are for the index's own k1/b; other parameters are scored exhaustively.
    if (Bm25Index.dynamicPruning && normInverse === this.defaultNormCache) {
      this.memoryPostings ??= new MemoryPostings({ offsets: postingsOffsets, docs: postingsDocs, freqs: postingsFreqs, norms }, normInverse);
      const cursors = [];
      for (const [t, boost] of boosts) cursors.push(this.memoryPostings.cursor(t, Math.fround(boost * this.idfs[t])));
      return blockMaxMaxScoreTopK(cursors, k, idRank, mask);
    }
    const acc = this.accumulator;
    const flags = this.touchedFlags;
    const touched = this.touched;
    let nTouched = 0;
    for (const [t, boost] of boosts) {
      const weight = Math.fround(boost * this.idfs[t]);
      const end = postingsOffsets[t + 1];
      for (let p = postingsOffsets[t]; p < end; p++) {
        const d = postingsDocs[p];
        if (mask !== undefined && mask[d] === 0) continue;
        if (flags[d] === 0) {
          flags[d] = 1;
          touched[nTouched++] = d;
        }
        acc[d] += luceneBm25Score(weight, postingsFreqs[p], normInverse[norms[d]]);
      }
    }
    if (this.idOrder !== undefined) return this.packedTopK(k, nTouched);
    const size = Math.min(k, nTouched);
    const heapDocs = new Uint32Array(size);
    const heapScores = new Float32Array(size);
    let filled = 0;
    // Min-heap on (score, -idRank): the root is the worst kept hit.
    const worse = (s1: number, d1: number, s2: number, d2: number) => s1 < s2 || (s1 === s2 && idRank[d1] > idRank[d2]);
    const siftDown = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        if (l >= filled) return;
        const r = l + 1;
        let m = l;
        if (r < filled && worse(heapScores[r], heapDocs[r], heapScores[l], heapDocs[l])) m = r;
        if (!worse(heapScores[m], heapDocs[m], heapScores[i], heapDocs[i])) return;
        const sd = heapDocs[i];
        const ss = heapScores[i];
        heapDocs[i] = heapDocs[m];
        heapScores[i] = heapScores[m];
        heapDocs[m] = sd;
        heapScores[m] = ss;
        i = m;
      }
    };
    for (let i = 0; i < nTouched; i++) {
      const d = touched[i];
      const s = Math.fround(acc[d]); // Lucene sums clause scores in double and reports a float
      acc[d] = 0;
      flags[d] = 0;
      if (filled < size) {
        let j = filled++;
        heapDocs[j] = d;
        heapScores[j] = s;
        while (j > 0) {
          const parent = (j - 1) >> 1;
          if (!worse(heapScores[j], heapDocs[j], heapScores[parent], heapDocs[parent])) break;
          const pd = heapDocs[parent];
          const ps = heapScores[parent];
          heapDocs[parent] = heapDocs[j];
          heapScores[parent] = heapScores[j];
          heapDocs[j] = pd;
          heapScores[j] = ps;
          j = parent;
        }
      } else if (size > 0 && worse(heapScores[0], heapDocs[0], s, d)) {
        heapDocs[0] = d;
        heapScores[0] = s;
        siftDown(0);
      }
    }
    // Pop worst-first into the back of the output: best ends up first.
    const outDocs = new Uint32Array(size);
    const outScores = new Float32Array(size);
    for (let i = size - 1; i >= 0; i--) {
      outDocs[i] = heapDocs[0];
      outScores[i] = heapScores[0];
      filled--;
      heapDocs[0] = heapDocs[filled];
      heapScores[0] = heapScores[filled];
      siftDown(0);
    }
    return [outDocs, outScores];
  }

  /**
   * Top-k over packed keys (measured faster than the heap at every k on SciFact):
   * each hit becomes one float64, (inverted float32 score bits) · 2^21 + id rank, so
   * ascending numeric order is score descending, then id ascending. Exact because
   * float32 bits (32) plus rank bits (21) fit a float64's 53-bit integers; larger
   * collections use the heap in topK.
   */
  private packedTopK(k: number, nTouched: number): [Uint32Array, Float32Array] {
    const acc = this.accumulator;
    const flags = this.touchedFlags;
    const touched = this.touched;
    const idRank = this.data.idRank;
    if (this.keyScratch === undefined) this.keyScratch = new Float64Array(this.data.docs.length);
    const keys = this.keyScratch;
    for (let i = 0; i < nTouched; i++) {
      const d = touched[i];
      SCORE_F32[0] = acc[d]; // Lucene sums clause scores in double and reports a float
      keys[i] = (0xffffffff - SCORE_BITS[0]) * PACK_SHIFT + idRank[d];
      acc[d] = 0;
      flags[d] = 0;
    }
    const size = smallestK(keys, nTouched, k);
    const outDocs = new Uint32Array(size);
    const outScores = new Float32Array(size);
    const idOrder = this.idOrder!;
    for (let i = 0; i < size; i++) {
      const key = keys[i];
      const high = Math.floor(key / PACK_SHIFT);
      SCORE_BITS[0] = 0xffffffff - high;
      outScores[i] = SCORE_F32[0];
      outDocs[i] = idOrder[key - high * PACK_SHIFT];
    }
    return [outDocs, outScores];
  }

  /** Saves atomically: a new segment folder, then a manifest swap by rename (see index-directory.ts). */
  async save(dir: string, options: WriteIndexOptions = {}): Promise<void> {
    const d = this.data;
    const documents =
      d.docs
        .map((doc) => {
          try {
            return JSON.stringify(doc);
          } catch (err) {
            throw new InvalidInputError(`document "${doc.id}" cannot be saved: its metadata is not JSON-serializable (${(err as Error).message})`, {
              field: "metadata",
              id: doc.id,
            });
          }
        })
        .join("\n") + (d.docs.length > 0 ? "\n" : "");
    await writeIndexDirectory(
      dir,
      {
        format: BM25_INDEX_FORMAT,
        version: BM25_INDEX_VERSION,
        analyzer: ANALYZER_ID,
        params: this.params,
        stats: {
          documents: d.docs.length,
          docCount: this.docCount,
          sumTotalTermFreq: this.sumTotalTermFreq,
          terms: d.terms.length,
          postings: d.postingsDocs.length,
          skippedBlank: d.skippedBlank,
        },
      },
      {
        "documents.jsonl": documents,
        "terms.txt": d.terms.join("\n"),
        "postings-offsets.u32": bytesOf(d.postingsOffsets),
        "postings-docs.u32": bytesOf(d.postingsDocs),
        "postings-freqs.u32": bytesOf(d.postingsFreqs),
        "norms.u8": bytesOf(d.norms),
        "doc-term-offsets.u32": bytesOf(d.docTermOffsets),
        "doc-terms.u32": bytesOf(d.docTerms),
        "title-lengths.u32": bytesOf(d.titleLengths),
        "id-rank.u32": bytesOf(d.idRank),
      },
      options,
    );
  }

  /** Loads an index saved by `save`; checksums and structure are verified (INDEX_CORRUPT / INDEX_VERSION_MISMATCH). */
  static async load(dir: string): Promise<Bm25Index> {
    const { manifest, files } = await readIndexDirectory(dir, { format: BM25_INDEX_FORMAT, version: BM25_INDEX_VERSION });
    if (manifest.analyzer !== ANALYZER_ID) {
      throw indexCorrupt(dir, `it was analyzed with "${String(manifest.analyzer)}", this Winnow uses "${ANALYZER_ID}"`);
    }
    let params: Bm25Params;
    try {
      params = validateParams((manifest.params ?? {}) as Partial<Bm25Params>, DEFAULT_BM25_PARAMS);
    } catch (err) {
      throw indexCorrupt(dir, "its BM25 parameters are invalid", err);
    }
    const text = (name: string) => {
      const buf = files.get(name);
      if (buf === undefined) throw indexCorrupt(dir, `${name} is missing`);
      return buf.toString("utf8");
    };
    const docs: Document[] = [];
    const docLines = text("documents.jsonl").split("\n");
    for (let i = 0; i < docLines.length; i++) {
      if (docLines[i].length === 0) continue;
      let doc: Document;
      try {
        doc = JSON.parse(docLines[i]) as Document;
      } catch (err) {
        throw indexCorrupt(dir, `documents.jsonl line ${i + 1} is not valid JSON`, err);
      }
      if (doc === null || typeof doc !== "object" || typeof doc.id !== "string" || typeof doc.text !== "string") {
        throw indexCorrupt(dir, `documents.jsonl line ${i + 1} is not a document`);
      }
      docs.push(doc);
    }
    const termsText = text("terms.txt");
    const data: IndexData = {
      docs,
      terms: termsText.length === 0 ? [] : termsText.split("\n"),
      postingsOffsets: toUint32Array(dir, "postings-offsets.u32", files.get("postings-offsets.u32")),
      postingsDocs: toUint32Array(dir, "postings-docs.u32", files.get("postings-docs.u32")),
      postingsFreqs: toUint32Array(dir, "postings-freqs.u32", files.get("postings-freqs.u32")),
      norms: toUint8Array(dir, "norms.u8", files.get("norms.u8")),
      docTermOffsets: toUint32Array(dir, "doc-term-offsets.u32", files.get("doc-term-offsets.u32")),
      docTerms: toUint32Array(dir, "doc-terms.u32", files.get("doc-terms.u32")),
      titleLengths: toUint32Array(dir, "title-lengths.u32", files.get("title-lengths.u32")),
      idRank: toUint32Array(dir, "id-rank.u32", files.get("id-rank.u32")),
      skippedBlank: Number((manifest.stats as Record<string, unknown> | undefined)?.skippedBlank ?? 0),
    };
    checkStructure(dir, data);
    return new Bm25Index(data, params, new EnglishAnalyzer());
  }

  private checkDocIndex(docIndex: number): void {
    if (!Number.isInteger(docIndex) || docIndex < 0 || docIndex >= this.data.docs.length) {
      throw new InvalidInputError(`docIndex must be an integer in [0, ${this.data.docs.length}), got ${String(docIndex)}`, { field: "docIndex" });
    }
  }

  private checkTermId(termId: number): void {
    if (!Number.isInteger(termId) || termId < 0 || termId >= this.data.terms.length) {
      throw new InvalidInputError(`termId must be an integer in [0, ${this.data.terms.length}), got ${String(termId)}`, { field: "termId" });
    }
  }
}

/** Checksums catch damaged bytes; this catches files that are intact but inconsistent with each other. */
function checkStructure(dir: string, d: IndexData): void {
  const n = d.docs.length;
  const v = d.terms.length;
  const fail = (what: string) => {
    throw indexCorrupt(dir, what);
  };
  if (d.postingsOffsets.length !== v + 1 || d.postingsOffsets[0] !== 0 || d.postingsOffsets[v] !== d.postingsDocs.length) {
    fail("postings offsets do not match the term list");
  }
  if (d.postingsFreqs.length !== d.postingsDocs.length) fail("postings frequencies do not match postings");
  for (let t = 0; t < v; t++) if (d.postingsOffsets[t + 1] < d.postingsOffsets[t]) fail("postings offsets are not ascending");
  for (let p = 0; p < d.postingsDocs.length; p++) if (d.postingsDocs[p] >= n) fail("a posting names a document that does not exist");
  if (d.norms.length !== n || d.titleLengths.length !== n || d.idRank.length !== n) fail("per-document arrays do not match the document count");
  if (d.docTermOffsets.length !== n + 1 || d.docTermOffsets[n] !== d.docTerms.length) fail("document term offsets do not match");
  for (let p = 0; p < d.docTerms.length; p++) if (d.docTerms[p] >= v) fail("a document names a term that does not exist");
  for (let i = 0; i < n; i++) if (d.idRank[i] >= n) fail("id order is out of range");
}
