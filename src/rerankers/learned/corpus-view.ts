import type { Candidate } from "../../core/types.js";

/** Turns text into index terms (tokenize, lowercase, stop words, stem), as BM25 does. */
export interface TextAnalyzer {
  analyze(text: string): string[];
}

/**
 * What the feature extractor needs from a BM25 index. Structural, so any index with these
 * members works (the project's `Bm25Index` does); ids of terms are the index's own.
 */
export interface Bm25FeatureIndex {
  readonly analyzer: TextAnalyzer;
  readonly docCount: number;
  readonly avgDocLength: number;
  termId(term: string): number | undefined;
  docFreq(termId: number): number;
  docIndex(id: string): number | undefined;
  document(i: number): { id: string; text: string; title?: string } | undefined;
  documentTerms(i: number): { terms: Uint32Array; titleLength: number };
}

/** A document as the extractor reads it: index terms in order (title first) and the title's length. */
export interface AnalyzedDocument {
  /** Query-term slot of each position (-1 = not a query term). */
  slots: Int16Array;
  titleLength: number;
}

/**
 * Corpus statistics plus a way to read candidates as query-term slots. Two kinds:
 * backed by a BM25 index (candidates found in it are read from its stored term ids; the
 * usual pipeline case), or computed from the candidate list alone when no index is
 * given (the reranker called on arbitrary documents).
 */
export interface CorpusView {
  readonly kind: "index" | "candidates";
  readonly analyzer: TextAnalyzer;
  readonly docCount: number;
  readonly avgDocLength: number;
  readonly avgTitleLength: number;
  /** Document frequency of each distinct query term. */
  docFreqs(terms: readonly string[]): number[];
  /** Occurrences of each term in the whole collection (for query likelihood and DFR). */
  collectionFreqs(terms: readonly string[]): number[];
  /** Term occurrences in the whole collection (Σ document lengths). */
  readonly totalTermCount: number;
  /** Reads candidate c as query-term slots. */
  readDocument(candidate: Candidate, c: number, terms: readonly string[], slotOf: Map<string, number>): AnalyzedDocument;
  /**
   * Candidate c's whole term vector (every term, not only the query's): term key → count.
   * Keys are the view's own (index term ids, or ids of the candidate list's vocabulary),
   * stable for the view's lifetime; `termKey` maps an analyzed term to the same key.
   */
  termCounts(candidate: Candidate, c: number): TermCounts;
  termKey(term: string): number | undefined;
  /** Document frequency of a term given by its key. */
  docFreqOfKey(key: number): number;
}

/** A document's term vector: distinct term keys (in first-occurrence order) and their counts. */
export interface TermCounts {
  keys: Uint32Array;
  counts: Uint32Array;
  /** The largest key (0 when empty). */
  maxKey: number;
}

/** Per-key counts while one document is counted; all zeros between calls. Keys are dense ids. */
let countScratch = new Uint32Array(1024);

/**
 * Counts a document's keys in one pass over a dense scratch array (no sort, no Map: this
 * runs on 100 whole documents per query), then zeroes what it touched.
 */
function countKeys(keys: ArrayLike<number>): TermCounts {
  const distinct: number[] = [];
  let maxKey = 0;
  for (let p = 0; p < keys.length; p++) {
    const k = keys[p];
    if (k >= countScratch.length) {
      const grown = new Uint32Array(Math.max(k + 1, 2 * countScratch.length));
      grown.set(countScratch);
      countScratch = grown;
    }
    if (countScratch[k]++ === 0) distinct.push(k);
    if (k > maxKey) maxKey = k;
  }
  const out = { keys: Uint32Array.from(distinct), counts: new Uint32Array(distinct.length), maxKey };
  for (let i = 0; i < distinct.length; i++) {
    out.counts[i] = countScratch[distinct[i]];
    countScratch[distinct[i]] = 0;
  }
  return out;
}

function analyzeDocument(analyzer: TextAnalyzer, doc: Candidate["document"], slotOf: Map<string, number>): AnalyzedDocument {
  const title = doc.title ? analyzer.analyze(doc.title) : [];
  const text = analyzer.analyze(doc.text);
  const slots = new Int16Array(title.length + text.length);
  for (let i = 0; i < title.length; i++) slots[i] = slotOf.get(title[i]) ?? -1;
  for (let i = 0; i < text.length; i++) slots[title.length + i] = slotOf.get(text[i]) ?? -1;
  return { slots, titleLength: title.length };
}

const titleLengthCache = new WeakMap<Bm25FeatureIndex, number>();

/** Mean title length in terms over the index (computed once per index: the index does not store it). */
function averageTitleLength(index: Bm25FeatureIndex): number {
  let cached = titleLengthCache.get(index);
  if (cached === undefined) {
    let sum = 0;
    for (let i = 0; i < index.docCount; i++) sum += index.documentTerms(i).titleLength;
    cached = index.docCount > 0 ? sum / index.docCount : 0;
    titleLengthCache.set(index, cached);
  }
  return cached;
}

interface CollectionCounts {
  byTermId: Uint32Array;
  total: number;
}
const collectionCountsCache = new WeakMap<Bm25FeatureIndex, CollectionCounts>();

/**
 * Collection frequency of every term, counted once per index from the stored term ids
 * (the index keeps document frequencies, not occurrence counts): one pass over the corpus.
 */
function collectionCounts(index: Bm25FeatureIndex): CollectionCounts {
  let cached = collectionCountsCache.get(index);
  if (!cached) {
    let byTermId = new Uint32Array(1024);
    let total = 0;
    for (let i = 0; i < index.docCount; i++) {
      const { terms } = index.documentTerms(i);
      total += terms.length;
      for (let p = 0; p < terms.length; p++) {
        const t = terms[p];
        if (t >= byTermId.length) {
          const grown = new Uint32Array(Math.max(t + 1, byTermId.length * 2));
          grown.set(byTermId);
          byTermId = grown;
        }
        byTermId[t]++;
      }
    }
    cached = { byTermId, total };
    collectionCountsCache.set(index, cached);
  }
  return cached;
}

export function indexCorpusView(index: Bm25FeatureIndex): CorpusView {
  // Document objects are not mutated by the pipeline; a changed text arrives as a new object.
  const storedIndexCache = new WeakMap<object, number>();
  // Term id → query slot, built once per query (the extractor passes the same `terms` array
  // for every candidate of a query), not once per candidate.
  const slotsByQuery = new WeakMap<readonly string[], Map<number, number>>();
  const idSlotsFor = (terms: readonly string[]): Map<number, number> => {
    let idSlot = slotsByQuery.get(terms);
    if (!idSlot) {
      idSlot = new Map<number, number>();
      terms.forEach((t, s) => {
        const id = index.termId(t);
        if (id !== undefined && id >= 0) idSlot!.set(id, s);
      });
      slotsByQuery.set(terms, idSlot);
    }
    return idSlot;
  };
  return {
    kind: "index",
    analyzer: index.analyzer,
    docCount: index.docCount,
    avgDocLength: index.avgDocLength,
    get avgTitleLength() {
      return averageTitleLength(index);
    },
    docFreqs(terms) {
      return terms.map((t) => {
        const id = index.termId(t);
        return id === undefined || id < 0 ? 0 : index.docFreq(id);
      });
    },
    collectionFreqs(terms) {
      const { byTermId } = collectionCounts(index);
      return terms.map((t) => {
        const id = index.termId(t);
        return id === undefined || id < 0 ? 0 : (byTermId[id] ?? 0);
      });
    },
    get totalTermCount() {
      return collectionCounts(index).total;
    },
    readDocument(candidate, _c, terms, slotOf) {
      const i = storedIndexOf(candidate);
      if (i === undefined) return analyzeDocument(index.analyzer, candidate.document, slotOf);
      const idSlot = idSlotsFor(terms);
      const { terms: ids, titleLength } = index.documentTerms(i);
      const slots = new Int16Array(ids.length);
      for (let p = 0; p < ids.length; p++) slots[p] = idSlot.get(ids[p]) ?? -1;
      return { slots, titleLength };
    },
    termCounts(candidate) {
      const i = storedIndexOf(candidate);
      if (i !== undefined) return countKeys(index.documentTerms(i).terms);
      // Not the stored document: analyze it; terms the index lacks have no key and are left out.
      const keys: number[] = [];
      const { title, text } = candidate.document;
      for (const t of [...(title ? index.analyzer.analyze(title) : []), ...index.analyzer.analyze(text)]) {
        const id = index.termId(t);
        if (id !== undefined && id >= 0) keys.push(id);
      }
      return countKeys(keys);
    },
    termKey(term) {
      const id = index.termId(term);
      return id === undefined || id < 0 ? undefined : id;
    },
    docFreqOfKey(key) {
      return index.docFreq(key);
    },
  };

  /** The candidate's position in the index, when the index holds this very text. */
  function storedIndexOf(candidate: Candidate): number | undefined {
    // Read twice per candidate (query-term slots, then the whole term vector): the text
    // comparison below is O(length), so its answer is kept per document object.
    const known = storedIndexCache.get(candidate.document);
    if (known !== undefined) return known < 0 ? undefined : known;
    const i = index.docIndex(candidate.document.id);
    // Ids can collide with ad-hoc documents (plain strings get "0", "1"…): only trust the
    // stored terms when the stored text is the candidate's text.
    const stored = i === undefined || i < 0 ? undefined : index.document(i);
    const found = stored && stored.text === candidate.document.text && (stored.title ?? "") === (candidate.document.title ?? "") ? i! : -1;
    storedIndexCache.set(candidate.document, found);
    return found < 0 ? undefined : found;
  }
}

/**
 * Statistics from the candidates themselves: N = number of candidates, document
 * frequencies and average lengths counted over them. IDFs are flatter than corpus IDFs
 * (every candidate tends to contain the query terms), so scores are less sharp than with
 * an index, but every feature is defined and the ranking stays BM25-like.
 */
export function candidateListView(analyzer: TextAnalyzer, candidates: readonly Candidate[]): CorpusView {
  const analyzed = candidates.map((c) => ({
    title: c.document.title ? analyzer.analyze(c.document.title) : [],
    text: analyzer.analyze(c.document.text),
  }));
  const n = candidates.length;
  let totalLength = 0;
  let totalTitle = 0;
  for (const a of analyzed) {
    totalLength += a.title.length + a.text.length;
    totalTitle += a.title.length;
  }
  const sets = analyzed.map((a) => new Set([...a.title, ...a.text]));
  const counts = new Map<string, number>();
  for (const a of analyzed) for (const t of [...a.title, ...a.text]) counts.set(t, (counts.get(t) ?? 0) + 1);
  // The list's vocabulary as keys for termCounts, with each term's document frequency.
  const keyOf = new Map<string, number>();
  const dfOfKey: number[] = [];
  const keyed = analyzed.map((a) => {
    const keys = [...a.title, ...a.text].map((t) => {
      let k = keyOf.get(t);
      if (k === undefined) {
        k = dfOfKey.length;
        keyOf.set(t, k);
        dfOfKey.push(0);
      }
      return k;
    });
    for (const k of new Set(keys)) dfOfKey[k]++;
    return keys;
  });
  return {
    kind: "candidates",
    analyzer,
    docCount: n,
    avgDocLength: n ? totalLength / n : 0,
    avgTitleLength: n ? totalTitle / n : 0,
    docFreqs(terms) {
      return terms.map((t) => sets.reduce((df, s) => df + (s.has(t) ? 1 : 0), 0));
    },
    collectionFreqs(terms) {
      return terms.map((t) => counts.get(t) ?? 0);
    },
    totalTermCount: totalLength,
    readDocument(_candidate, c, _terms, slotOf) {
      const a = analyzed[c];
      const slots = new Int16Array(a.title.length + a.text.length);
      for (let i = 0; i < a.title.length; i++) slots[i] = slotOf.get(a.title[i]) ?? -1;
      for (let i = 0; i < a.text.length; i++) slots[a.title.length + i] = slotOf.get(a.text[i]) ?? -1;
      return { slots, titleLength: a.title.length };
    },
    termCounts(_candidate, c) {
      return countKeys(keyed[c]);
    },
    termKey(term) {
      return keyOf.get(term);
    },
    docFreqOfKey(key) {
      return dfOfKey[key] ?? 0;
    },
  };
}
