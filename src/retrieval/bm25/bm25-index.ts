import { join } from "node:path";
import { compareIdsCodePoint } from "../../core/id-order.js";
import { InvalidInputError, throwIfAborted } from "../../core/errors.js";
import { toQuery } from "../../core/inputs.js";
import type { Candidate, Document, QueryInput, Retriever, SearchOptions } from "../../core/types.js";
import { EnglishAnalyzer } from "../analysis/english-analyzer.js";
import { TokenMemo } from "../analysis/token-memo.js";
import { smallestK } from "./smallest-k.js";
import { matchesMetadataFilter, validateMetadataFilter } from "../pools/metadata-filter.js";
import { DiskSegment, MemorySegment, storedDocumentReader, type Bm25Segment, type IndexData } from "./bm25-segment.js";
import { SegmentReader } from "./segment/segment-reader.js";
import { SegmentTermPostings } from "./segment/segment-cursor.js";
import { blockMaxMaxScoreTopK } from "./pruning/block-max-maxscore.js";
import { MemoryPostings } from "./pruning/memory-postings.js";
import type { PostingsCursor } from "./postings-cursor.js";
import type { StoreTextMode } from "./segment/segment-files.js";
import { BM25_SEGMENTED_VERSION, readDeletes, readSegmentedManifest, segmentCorrupt, type CommitOptions } from "./segmented-directory.js";
import {
  ANALYZER_ID,
  appendToIndex,
  deleteFromIndex,
  mergeIndex,
  saveAnalyzedIndex,
  writeIndex,
  type CorpusInput,
  type IndexWriteOptions,
  type IndexWriteSummary,
} from "./segmented-build.js";
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
export type { CorpusInput, IndexWriteOptions, IndexWriteSummary, IndexProgress } from "./segmented-build.js";

const MAX_PACKED_DOCS = 1 << 21;
const PACK_SHIFT = 2 ** 21;
const SCORE_F32 = new Float32Array(1);
const SCORE_BITS = new Uint32Array(SCORE_F32.buffer);

export const BM25_INDEX_FORMAT = "winnow-bm25";
/** 3: segmented binary format (docs/bm25-index-format.md); older indexes are refused with how to rebuild them. */
export const BM25_INDEX_VERSION = BM25_SEGMENTED_VERSION;

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

export interface Bm25SaveOptions extends CommitOptions {
  storeText?: StoreTextMode;
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

/** Statistics across segments, corrected for deleted documents. */
interface IndexStats {
  docCount: number;
  sumTotalTermFreq: number;
  skippedBlank: number;
  vocabulary: number;
  /** Deleted documents containing each term (subtracted from the segments' df). */
  dfCorrection: Map<string, number>;
}

/** Scratch space of term-at-a-time scoring over one segment, allocated on its first search. */
interface SegmentScratch {
  acc: Float64Array;
  flags: Uint8Array;
  touched: Uint32Array;
  keys?: Float64Array;
  /** Document by id rank (inverse of idRank), when the segment fits the packed sort keys. */
  idOrder?: Uint32Array;
}

/**
 * A BM25 index that scores exactly like Lucene 8 / Anserini (see lucene-bm25.ts) over
 * Lucene's English analysis chain, in memory (`build`) or over a saved segmented index
 * read at offsets (`load`; docs/bm25-index-format.md). Candidates carry the Document
 * (loaded on first access for saved indexes).
 *
 * Search is term-at-a-time per segment into a dense score array, then the best k; ties
 * go to the smaller document id (across segments too). Collection statistics (N, avgdl,
 * df) are the whole index's, with deleted documents taken out, so scores equal those of
 * a fresh build of the same documents. Metadata filters are a pre-filter bitmap.
 */
export class Bm25Index implements Retriever {
  readonly name = "bm25";
  /**
   * @internal Largest segment that uses packed-key top-k (capped at 2^21 by the key layout);
   * bigger ones use the heap. Tests lower it to exercise the heap.
   */
  static packedTopKLimit = MAX_PACKED_DOCS;
  /** @internal Off makes every search exhaustive (tests compare the two; both are exact). */
  static dynamicPruning = true;
  /**
   * @internal Pruning pays only when there are many postings to skip: measured on SciFact
   * (5k docs) it was 1.5–1.8× slower than term-at-a-time scoring, and at 100k documents about
   * even. Below this many postings over a query's terms in a segment, the exhaustive path
   * runs (both are exact; tests set 0 to force pruning).
   */
  static pruningMinPostings = 200_000;
  readonly analyzer: EnglishAnalyzer;
  readonly params: Bm25Params;
  /** Documents with at least one indexed term (Lucene's docCount, the N of idf). */
  readonly docCount: number;
  readonly avgDocLength: number;
  /** Blank documents skipped at build time. */
  readonly skippedBlank: number;
  /** The folder a loaded index was read from; undefined for an index built in memory. */
  readonly directory: string | undefined;

  private readonly segments: Bm25Segment[];
  /** First global document index of each segment, and the total at the end. */
  private readonly bases: number[];
  private readonly liveDocs: number;
  private readonly stats: IndexStats;
  private readonly sumTotalTermFreq: number;
  private readonly defaultNormCache: Float32Array;
  /** Term ids: an in-memory index's own term numbers; a saved index numbers terms as lookups first meet them. */
  private readonly terms: string[];
  private readonly termIds: Map<string, number>;
  private readonly frozenVocabulary: boolean;
  private readonly idfs: number[] = [];
  private readonly dfs: number[] = [];
  /** Ordinal of each interned term in each segment (-1: absent); unused for an in-memory index. */
  private readonly termOrdinals: Int32Array[] = [];
  /** Per segment: term id of each ordinal met by documentTerms (-1: not yet). */
  private readonly ordinalTermIds: Array<Int32Array | undefined>;
  private readonly scratch: Array<SegmentScratch | undefined>;
  /** Block-max bounds of an in-memory segment for pruned search, built term by term on first use. */
  private memoryPostings: MemoryPostings | undefined;
  private filterCache = new Map<string, Uint8Array>();

  private constructor(segments: Bm25Segment[], params: Bm25Params, analyzer: EnglishAnalyzer, stats: IndexStats, directory: string | undefined) {
    this.segments = segments;
    this.params = Object.freeze({ ...params });
    this.analyzer = analyzer;
    this.stats = stats;
    this.directory = directory;
    this.skippedBlank = stats.skippedBlank;
    this.docCount = stats.docCount;
    this.sumTotalTermFreq = stats.sumTotalTermFreq;
    this.avgDocLength = luceneAvgFieldLength(this.sumTotalTermFreq, this.docCount);
    this.defaultNormCache = normInverseCache(this.params, this.avgDocLength);
    this.bases = [0];
    let live = 0;
    for (const seg of segments) {
      this.bases.push(this.bases[this.bases.length - 1] + seg.maxDoc);
      live += seg.maxDoc;
      if (seg.deleted) for (let d = 0; d < seg.maxDoc; d++) live -= seg.deleted[d];
    }
    this.liveDocs = live;
    this.scratch = new Array(segments.length).fill(undefined);
    this.ordinalTermIds = new Array(segments.length).fill(undefined);
    const only = segments.length === 1 ? segments[0] : undefined;
    if (only instanceof MemorySegment) {
      this.frozenVocabulary = true;
      this.terms = only.data.terms;
      this.termIds = only.termIds;
      const { postingsOffsets } = only.data;
      for (let t = 0; t < this.terms.length; t++) {
        const df = postingsOffsets[t + 1] - postingsOffsets[t];
        this.dfs.push(df);
        this.idfs.push(luceneIdf(df, this.docCount));
      }
    } else {
      this.frozenVocabulary = false;
      this.terms = [];
      this.termIds = new Map();
    }
  }

  /** Indexes documents (sync or async iterable) in memory, skipping blank ones; rejects duplicate ids. */
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
    return Bm25Index.fromData(builder.finish(), params, analyzer);
  }

  private static fromData(data: IndexData, params: Bm25Params, analyzer: EnglishAnalyzer): Bm25Index {
    let docCount = 0;
    for (let d = 0; d < data.docs.length; d++) if (data.docTermOffsets[d + 1] > data.docTermOffsets[d]) docCount++;
    const stats: IndexStats = { docCount, sumTotalTermFreq: data.docTerms.length, skippedBlank: data.skippedBlank, vocabulary: data.terms.length, dfCorrection: new Map() };
    return new Bm25Index([new MemorySegment(data)], params, analyzer, stats, undefined);
  }

  /**
   * Builds an index at `dir` from a corpus path (BEIR folder, JSONL, gzip JSONL, TREC) or
   * documents, streamed in bounded memory, and replaces what was there atomically.
   */
  static write(dir: string, corpus: CorpusInput, options: IndexWriteOptions = {}): Promise<IndexWriteSummary> {
    if (options.k1 !== undefined || options.b !== undefined) validateParams(options, DEFAULT_BM25_PARAMS);
    return writeIndex(dir, corpus, options);
  }

  /** Adds (or, by id, replaces) documents in the index at `dir` as a new segment, then merges per policy; atomic. */
  static append(dir: string, corpus: CorpusInput, options: IndexWriteOptions = {}): Promise<IndexWriteSummary> {
    return appendToIndex(dir, corpus, options);
  }

  /** Deletes documents by id from the index at `dir` (deletion marks, merged away per policy); atomic. */
  static delete(dir: string, ids: Iterable<string>, options: IndexWriteOptions = {}): Promise<IndexWriteSummary & { missing: number }> {
    return deleteFromIndex(dir, ids, options);
  }

  /** Merges the index at `dir` down to `maxSegments` (default 1), expunging deleted documents; atomic. */
  static merge(dir: string, options: IndexWriteOptions & { maxSegments?: number } = {}): Promise<IndexWriteSummary> {
    return mergeIndex(dir, options);
  }

  /** Live documents (blank and deleted ones excluded). */
  get size(): number {
    return this.liveDocs;
  }

  /** Segments of a saved index (1 for an in-memory one). */
  get segmentCount(): number {
    return this.segments.length;
  }

  /** Document indexes run from 0 to this (deleted documents keep their numbers until a merge). */
  get maxDocIndex(): number {
    return this.bases[this.bases.length - 1];
  }

  /** Distinct indexed terms (for a saved index of several segments or with deletions: an upper bound). */
  get vocabularySize(): number {
    return this.stats.vocabulary;
  }

  /** Interns a term present in some live document of a saved index; undefined when it is in none. */
  private intern(term: string): number | undefined {
    const ordinals = new Int32Array(this.segments.length);
    let df = 0;
    this.segments.forEach((seg, s) => {
      const o = seg.termOrdinal(term);
      ordinals[s] = o ?? -1;
      if (o !== undefined) df += seg.docFreq(o);
    });
    df -= this.stats.dfCorrection.get(term) ?? 0;
    if (df <= 0) return undefined;
    const id = this.terms.length;
    this.terms.push(term);
    this.termIds.set(term, id);
    this.termOrdinals.push(ordinals);
    this.dfs.push(df);
    this.idfs.push(luceneIdf(df, this.docCount));
    return id;
  }

  termId(term: string): number | undefined {
    const id = this.termIds.get(term);
    if (id !== undefined || this.frozenVocabulary) return id;
    return this.intern(term);
  }

  term(termId: number): string {
    this.checkTermId(termId);
    return this.terms[termId];
  }

  docFreq(termId: number): number {
    this.checkTermId(termId);
    return this.dfs[termId];
  }

  /** Lucene's BM25 idf of a term over this index. */
  idf(termId: number): number {
    this.checkTermId(termId);
    return this.idfs[termId];
  }

  docIndex(id: string): number | undefined {
    for (let s = this.segments.length - 1; s >= 0; s--) {
      const seg = this.segments[s];
      const d = seg.docOfId(id);
      if (d !== undefined && !seg.deleted?.[d]) return this.bases[s] + d;
    }
    return undefined;
  }

  /** The segment holding a global document index, and the document's number in it. */
  private locate(docIndex: number): [number, number] {
    this.checkDocIndex(docIndex);
    const bases = this.bases;
    let s = 0;
    if (bases.length > 2) {
      let lo = 0;
      let hi = bases.length - 2;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (bases[mid] <= docIndex) lo = mid;
        else hi = mid - 1;
      }
      s = lo;
    }
    const d = docIndex - bases[s];
    if (this.segments[s].deleted?.[d]) throw new InvalidInputError(`docIndex ${docIndex} is a deleted document`, { field: "docIndex" });
    return [s, d];
  }

  document(docIndex: number): Document {
    const [s, d] = this.locate(docIndex);
    return this.segments[s].document(d);
  }

  /** Live documents in index order (a saved index reads them block by block). */
  *documents(): Generator<Document> {
    for (let s = 0; s < this.segments.length; s++) {
      const seg = this.segments[s];
      for (let d = 0; d < seg.maxDoc; d++) if (!seg.deleted?.[d]) yield seg.document(d);
    }
  }

  /** Analyzed term ids of a document in order, title terms first (`titleLength` of them). */
  documentTerms(docIndex: number): { terms: Uint32Array; titleLength: number } {
    const [s, d] = this.locate(docIndex);
    const seg = this.segments[s];
    const { ordinals, titleLength } = seg.docTerms(d);
    if (this.frozenVocabulary) return { terms: ordinals, titleLength };
    let map = this.ordinalTermIds[s];
    if (map === undefined) map = this.ordinalTermIds[s] = new Int32Array((seg as DiskSegment).reader.terms).fill(-1);
    const out = new Uint32Array(ordinals.length);
    for (let i = 0; i < ordinals.length; i++) {
      const o = ordinals[i];
      let id = map[o];
      if (id < 0) {
        const term = seg.termAt(o);
        id = this.termIds.get(term) ?? this.intern(term) ?? -1;
        if (id < 0) throw segmentCorrupt(this.directory ?? "(memory)", `document ${docIndex} names term "${term}" that no live document has`);
        map[o] = id;
      }
      out[i] = id;
    }
    return { terms: out, titleLength };
  }

  /** Term ids of a query's terms known to the index, in query order, repeats kept (a repeat boosts the term). */
  queryTermIds(text: string): number[] {
    const out: number[] = [];
    this.analyzer.forEachTerm(text, (t) => {
      const id = this.termId(t);
      if (id !== undefined) out.push(id);
    });
    return out;
  }

  /** BM25 of one document for a query given as term ids (repeats boost), as `search` would score it. */
  scoreDocument(queryTermIds: ArrayLike<number>, docIndex: number, params: Partial<Bm25Params> = {}): number {
    const [s, d] = this.locate(docIndex);
    const cache = this.normCacheFor(params);
    const counts = new Map<number, number>();
    for (let i = 0; i < queryTermIds.length; i++) {
      const t = queryTermIds[i];
      this.checkTermId(t);
      counts.set(t, (counts.get(t) ?? 0) + 1);
    }
    const { terms } = this.documentTerms(docIndex);
    const normInverse = cache[this.segments[s].norms()[d]];
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
    // One SHOULD clause per distinct term, boosted by how often the query repeats it (Anserini's bag of words).
    const counts = new Map<number, number>();
    this.analyzer.forEachTerm(q.text, (t) => {
      const id = this.termId(t);
      if (id !== undefined) counts.set(id, (counts.get(id) ?? 0) + 1);
    });
    return this.topKOfClauses(counts, k, cache, mask);
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
      const id = this.termId(t.term);
      if (id !== undefined) boosts.set(id, Math.fround((boosts.get(id) ?? 0) + Math.fround(t.weight)));
    });
    const cache = this.normCacheFor(options);
    const mask = options.filter === undefined ? undefined : this.filterMask(options.filter);
    return this.topKOfClauses(boosts, k, cache, mask);
  }

  private candidate(s: number, d: number, score: number, rank: number): Candidate {
    return { document: this.segments[s].document(d), score, rank, source: "bm25", scores: { bm25: score } };
  }

  private normCacheFor(p: Partial<Bm25Params>): Float32Array {
    if ((p.k1 === undefined || p.k1 === this.params.k1) && (p.b === undefined || p.b === this.params.b)) return this.defaultNormCache;
    return normInverseCache(validateParams(p, this.params), this.avgDocLength);
  }

  /** 1 per live document matching the filter, over global document indexes. */
  private filterMask(filter: unknown): Uint8Array {
    const valid = validateMetadataFilter(filter);
    const key = JSON.stringify(valid);
    let mask = this.filterCache.get(key);
    if (mask === undefined) {
      mask = new Uint8Array(this.maxDocIndex);
      this.segments.forEach((seg, s) => {
        for (let d = 0; d < seg.maxDoc; d++) {
          if (!seg.deleted?.[d]) mask![this.bases[s] + d] = matchesMetadataFilter(seg.document(d).metadata, valid) ? 1 : 0;
        }
      });
      if (this.filterCache.size >= 32) this.filterCache = new Map();
      this.filterCache.set(key, mask);
    }
    return mask;
  }

  /** Scores the documents matching any clause (term id → boost; BM25 weight = boost · idf in float), keeps the best k. */
  private topKOfClauses(boosts: Map<number, number>, k: number, normInverse: Float32Array, mask: Uint8Array | undefined): Candidate[] {
    const perSegment: Array<[Uint32Array, Float32Array]> = this.segments.map((_seg, s) => {
      const clauses: Array<[number, number]> = [];
      for (const [t, boost] of boosts) {
        const ordinal = this.frozenVocabulary ? t : this.termOrdinals[t][s];
        if (ordinal >= 0) clauses.push([ordinal, Math.fround(boost * this.idfs[t])]);
      }
      return this.segmentTopK(s, clauses, k, normInverse, mask);
    });
    if (perSegment.length === 1) {
      const [docs, scores] = perSegment[0];
      return Array.from(docs, (d, i) => this.candidate(0, d, scores[i], i + 1));
    }
    // Each segment's list is its exact top k, so the union holds the global top k; ties by id.
    const hits: Array<{ s: number; d: number; score: number; id?: string }> = [];
    perSegment.forEach(([docs, scores], s) => docs.forEach((d, i) => hits.push({ s, d, score: scores[i] })));
    const idOf = (h: { s: number; d: number; id?: string }) => (h.id ??= this.segments[h.s].docId(h.d));
    hits.sort((a, b) => b.score - a.score || compareIdsCodePoint(idOf(a), idOf(b)));
    return hits.slice(0, k).map((h, i) => this.candidate(h.s, h.d, h.score, i + 1));
  }

  private scratchOf(s: number): SegmentScratch {
    let sc = this.scratch[s];
    if (sc === undefined) {
      const n = this.segments[s].maxDoc;
      sc = { acc: new Float64Array(n), flags: new Uint8Array(n), touched: new Uint32Array(n) };
      if (n <= Math.min(MAX_PACKED_DOCS, Bm25Index.packedTopKLimit)) {
        const idRank = this.segments[s].idRank();
        sc.idOrder = new Uint32Array(n);
        for (let d = 0; d < n; d++) sc.idOrder[idRank[d]] = d;
      }
      this.scratch[s] = sc;
    }
    return sc;
  }

  /** Exhaustive term-at-a-time top k of one segment: [segment document numbers, scores], best first. */
  private segmentTopK(s: number, clauses: Array<[number, number]>, k: number, normInverse: Float32Array, mask: Uint8Array | undefined): [Uint32Array, Float32Array] {
    if (clauses.length === 0) return [new Uint32Array(0), new Float32Array(0)];
    const seg = this.segments[s];
    const base = this.bases[s];
    const deleted = seg.deleted;
    const norms = seg.norms();
    const idRank = seg.idRank();
    // Block bounds are for the index's own k1/b; other parameters are scored exhaustively.
    let postingsTotal = 0;
    if (Bm25Index.pruningMinPostings > 0) for (const [o] of clauses) postingsTotal += seg.docFreq(o);
    if (Bm25Index.dynamicPruning && normInverse === this.defaultNormCache && postingsTotal >= Bm25Index.pruningMinPostings) {
      const segMask = mask === undefined ? undefined : this.segments.length === 1 ? mask : mask.subarray(base, base + seg.maxDoc);
      let cursors: PostingsCursor[];
      let exact: PostingsCursor[];
      if (seg instanceof MemorySegment) {
        const { postingsOffsets, postingsDocs, postingsFreqs } = seg.data;
        const mp = (this.memoryPostings ??= new MemoryPostings({ offsets: postingsOffsets, docs: postingsDocs, freqs: postingsFreqs, norms }, normInverse));
        cursors = clauses.map(([o, w]) => mp.cursor(o, w));
        exact = clauses.map(([o, w]) => mp.cursor(o, w));
      } else {
        const reader = (seg as DiskSegment).reader;
        const shared = clauses.map(([o, w]) => {
          const entry = reader.termEntry(o);
          const { bytes, blocks } = reader.termPostings(entry);
          return new SegmentTermPostings(bytes, entry.df, w, normInverse, norms, deleted, blocks);
        });
        cursors = shared.map((p) => p.cursor());
        exact = shared.map((p) => p.cursor());
      }
      return blockMaxMaxScoreTopK(cursors, exact, k, idRank, segMask);
    }
    const { acc, flags, touched } = this.scratchOf(s);
    let nTouched = 0;
    for (const [ordinal, weight] of clauses) {
      const { docs, freqs } = seg.postings(ordinal);
      for (let p = 0; p < docs.length; p++) {
        const d = docs[p];
        if (mask !== undefined && mask[base + d] === 0) continue;
        if (deleted !== undefined && deleted[d] === 1) continue;
        if (flags[d] === 0) {
          flags[d] = 1;
          touched[nTouched++] = d;
        }
        acc[d] += luceneBm25Score(weight, freqs[p], normInverse[norms[d]]);
      }
    }
    if (this.scratch[s]!.idOrder !== undefined) return this.packedTopK(s, k, nTouched);
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
      const sc = Math.fround(acc[d]); // Lucene sums clause scores in double and reports a float
      acc[d] = 0;
      flags[d] = 0;
      if (filled < size) {
        let j = filled++;
        heapDocs[j] = d;
        heapScores[j] = sc;
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
      } else if (size > 0 && worse(heapScores[0], heapDocs[0], sc, d)) {
        heapDocs[0] = d;
        heapScores[0] = sc;
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
   * segments use the heap in segmentTopK.
   */
  private packedTopK(s: number, k: number, nTouched: number): [Uint32Array, Float32Array] {
    const sc = this.scratch[s]!;
    const { acc, flags, touched } = sc;
    const idRank = this.segments[s].idRank();
    const keys = (sc.keys ??= new Float64Array(this.segments[s].maxDoc));
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
    const idOrder = sc.idOrder!;
    for (let i = 0; i < size; i++) {
      const key = keys[i];
      const high = Math.floor(key / PACK_SHIFT);
      SCORE_BITS[0] = 0xffffffff - high;
      outScores[i] = SCORE_F32[0];
      outDocs[i] = idOrder[key - high * PACK_SHIFT];
    }
    return [outDocs, outScores];
  }

  /**
   * Saves atomically as a one-segment index (docs/bm25-index-format.md): an in-memory
   * index is written from its analyzed arrays; a loaded one streams its live documents.
   */
  async save(dir: string, options: Bm25SaveOptions = {}): Promise<void> {
    const only = this.segments.length === 1 ? this.segments[0] : undefined;
    if (only instanceof MemorySegment) {
      await saveAnalyzedIndex(dir, only.data, this.params, { storeText: options.storeText ?? "compressed", beforeCommit: options.beforeCommit });
      return;
    }
    await writeIndex(dir, this.documents(), { ...this.params, storeText: options.storeText, beforeCommit: options.beforeCommit, workers: 0 });
  }

  /**
   * Opens a saved index: reads its manifest and each segment's sparse indexes (not its
   * postings or documents), so opening takes about the same time at any size. Large
   * files are checked by size here and by CRC-32 with `verify: true` (or `verify()`).
   */
  static async load(dir: string, options: { verify?: boolean } = {}): Promise<Bm25Index> {
    const manifest = readSegmentedManifest(dir);
    if (manifest.analyzer !== ANALYZER_ID) {
      throw segmentCorrupt(dir, `it was analyzed with "${String(manifest.analyzer)}", this Winnow uses "${ANALYZER_ID}"`);
    }
    let params: Bm25Params;
    try {
      params = validateParams((manifest.params ?? {}) as Partial<Bm25Params>, DEFAULT_BM25_PARAMS);
    } catch (err) {
      throw segmentCorrupt(dir, "its BM25 parameters are invalid", err);
    }
    const readStored = storedDocumentReader(dir, manifest.storeText as StoreTextMode, manifest.sources ?? []);
    const segments: DiskSegment[] = [];
    try {
      for (const entry of manifest.segments) {
        const reader = new SegmentReader(join(dir, entry.name), dir, entry, readStored);
        segments.push(new DiskSegment(reader, entry.deletes ? readDeletes(dir, entry.deletes, entry.maxDoc) : undefined));
        if (options.verify) reader.verify();
      }
    } catch (err) {
      for (const s of segments) s.reader.close();
      throw err;
    }
    const stats: IndexStats = { docCount: 0, sumTotalTermFreq: 0, skippedBlank: Number(manifest.skippedBlank ?? 0), vocabulary: Number(manifest.vocabulary ?? 0), dfCorrection: new Map() };
    for (const seg of segments) {
      stats.docCount += seg.reader.info.docCount;
      stats.sumTotalTermFreq += seg.reader.info.sumTotalTermFreq;
      if (!seg.deleted) continue;
      // Exact statistics without the deleted documents: read back what each one contributed.
      for (let d = 0; d < seg.maxDoc; d++) {
        if (!seg.deleted[d]) continue;
        const { ordinals } = seg.reader.docTerms(d);
        stats.sumTotalTermFreq -= ordinals.length;
        if (ordinals.length > 0) stats.docCount--;
        for (const o of new Set(ordinals)) {
          const term = seg.reader.termAt(o);
          stats.dfCorrection.set(term, (stats.dfCorrection.get(term) ?? 0) + 1);
        }
      }
    }
    return new Bm25Index(segments, params, new EnglishAnalyzer(), stats, dir);
  }

  /** Full CRC-32 check of every file of a saved index (INDEX_CORRUPT naming the file). */
  verify(): void {
    for (const seg of this.segments) if (seg instanceof DiskSegment) seg.reader.verify();
  }

  /** Closes a saved index's open files (searching reopens them). */
  close(): void {
    for (const seg of this.segments) if (seg instanceof DiskSegment) seg.reader.close();
  }

  private checkDocIndex(docIndex: number): void {
    const n = this.maxDocIndex;
    if (!Number.isInteger(docIndex) || docIndex < 0 || docIndex >= n) {
      throw new InvalidInputError(`docIndex must be an integer in [0, ${n}), got ${String(docIndex)}`, { field: "docIndex" });
    }
  }

  private checkTermId(termId: number): void {
    if (!Number.isInteger(termId) || termId < 0 || termId >= this.terms.length) {
      throw new InvalidInputError(`termId must be an integer in [0, ${this.terms.length}), got ${String(termId)}`, { field: "termId" });
    }
  }
}
