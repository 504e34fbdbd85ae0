import { closeSync, openSync, readSync } from "node:fs";
import type { Document } from "../../core/types.js";
import { documentOfLine } from "./corpus-source.js";
import { segmentCorrupt } from "./segmented-directory.js";
import type { SegmentReader } from "./segment/segment-reader.js";
import type { StoreTextMode } from "./segment/segment-files.js";

/**
 * What Bm25Index searches: one segment's documents, numbered from 0, with its own term
 * ordinals. An in-memory index is one MemorySegment; a saved index is one DiskSegment
 * per segment folder. Statistics (N, avgdl, df) are the index's, across segments.
 */
export interface Bm25Segment {
  readonly maxDoc: number;
  /** 1 = deleted (skipped by search, lookups and statistics); undefined when none is. */
  readonly deleted: Uint8Array | undefined;
  termOrdinal(term: string): number | undefined;
  termAt(ordinal: number): string;
  /** Documents containing the term, deleted ones included. */
  docFreq(ordinal: number): number;
  postings(ordinal: number): { docs: Uint32Array; freqs: Uint32Array };
  norms(): Uint8Array;
  idRank(): Uint32Array;
  docId(doc: number): string;
  document(doc: number): Document;
  docTerms(doc: number): { ordinals: Uint32Array; titleLength: number };
  /** The document with this id, deleted or not. */
  docOfId(id: string): number | undefined;
}

/** The arrays an in-memory index is made of. */
export interface IndexData {
  docs: Document[];
  terms: string[];
  /** Postings of term t are [postingsOffsets[t], postingsOffsets[t+1]): doc indexes ascending, with their term frequency. */
  postingsOffsets: Uint32Array;
  postingsDocs: Uint32Array;
  postingsFreqs: Uint32Array;
  norms: Uint8Array;
  /** Analyzed term ids of document d are docTerms[docTermOffsets[d] .. docTermOffsets[d+1]), title first. */
  docTermOffsets: Uint32Array;
  docTerms: Uint32Array;
  titleLengths: Uint32Array;
  /** Position of each document in id order (UTF-8 byte order, as Lucene sorts ids): the tie-breaker. */
  idRank: Uint32Array;
  skippedBlank: number;
}

export class MemorySegment implements Bm25Segment {
  readonly deleted = undefined;
  readonly termIds: Map<string, number>;
  private readonly docIndexes: Map<string, number>;

  constructor(readonly data: IndexData) {
    this.termIds = new Map(data.terms.map((t, i) => [t, i]));
    this.docIndexes = new Map(data.docs.map((d, i) => [d.id, i]));
  }

  get maxDoc(): number {
    return this.data.docs.length;
  }
  termOrdinal(term: string): number | undefined {
    return this.termIds.get(term);
  }
  termAt(ordinal: number): string {
    return this.data.terms[ordinal];
  }
  docFreq(ordinal: number): number {
    return this.data.postingsOffsets[ordinal + 1] - this.data.postingsOffsets[ordinal];
  }
  postings(ordinal: number): { docs: Uint32Array; freqs: Uint32Array } {
    const { postingsOffsets: o, postingsDocs, postingsFreqs } = this.data;
    return { docs: postingsDocs.subarray(o[ordinal], o[ordinal + 1]), freqs: postingsFreqs.subarray(o[ordinal], o[ordinal + 1]) };
  }
  norms(): Uint8Array {
    return this.data.norms;
  }
  idRank(): Uint32Array {
    return this.data.idRank;
  }
  docId(doc: number): string {
    return this.data.docs[doc].id;
  }
  document(doc: number): Document {
    return this.data.docs[doc];
  }
  docTerms(doc: number): { ordinals: Uint32Array; titleLength: number } {
    const { docTerms, docTermOffsets, titleLengths } = this.data;
    return { ordinals: docTerms.subarray(docTermOffsets[doc], docTermOffsets[doc + 1]), titleLength: titleLengths[doc] };
  }
  docOfId(id: string): number | undefined {
    return this.docIndexes.get(id);
  }
}

/** Reads a segment's stored records back into documents, per the index's storeText mode. */
export function storedDocumentReader(indexDir: string, mode: StoreTextMode, sources: ReadonlyArray<string>): (id: string, record: string) => Document {
  return (id, record) => {
    let r: { title?: string; text?: string; metadata?: Record<string, unknown>; s?: [number, number, number] };
    try {
      r = JSON.parse(record);
    } catch (err) {
      throw segmentCorrupt(indexDir, `the stored record of "${id}" is damaged`, err);
    }
    if (mode === "source" && r.s) {
      const [file, offset, length] = r.s;
      const path = sources[file];
      if (path === undefined) throw segmentCorrupt(indexDir, `the stored record of "${id}" names source file ${file}, which the manifest lacks`);
      const buf = Buffer.allocUnsafe(length);
      let fd: number;
      try {
        fd = openSync(path, "r");
      } catch (err) {
        throw segmentCorrupt(indexDir, `document "${id}" is stored by reference into ${path}, which cannot be opened (${(err as NodeJS.ErrnoException).code})`, err);
      }
      try {
        readSync(fd, buf, 0, length, offset);
      } finally {
        closeSync(fd);
      }
      const doc = documentOfLine(path, 0, buf.toString("utf8"));
      if (doc === undefined || doc.id !== id) throw segmentCorrupt(indexDir, `${path} changed since it was indexed (document "${id}" is no longer at byte ${offset}); rebuild or re-append it`);
      return doc;
    }
    const doc: Document = { id, text: r.text ?? "" };
    if (r.title !== undefined) doc.title = r.title;
    if (r.metadata !== undefined) doc.metadata = r.metadata;
    return doc;
  };
}

/** Where a lazy document's stored fields come from, until they are loaded. */
const SOURCE = Symbol("stored document source");
interface LazyState {
  reader: SegmentReader;
  doc: number;
  loaded?: Document;
}
function loaded(o: object): Document {
  const st = (o as { [SOURCE]: LazyState })[SOURCE];
  return (st.loaded ??= st.reader.document(st.doc));
}
/** Shared accessors (no closures per document: a top-1000 list makes 1,000 of these per query). */
const LAZY_FIELDS: PropertyDescriptorMap = {
  text: { enumerable: true, get(this: object) { return loaded(this).text; }, set(this: object, v: string) { loaded(this).text = v; } },
  title: { enumerable: true, get(this: object) { return loaded(this).title; }, set(this: object, v: string) { loaded(this).title = v; } },
  metadata: { enumerable: true, get(this: object) { return loaded(this).metadata; }, set(this: object, v: Record<string, unknown>) { loaded(this).metadata = v; } },
};

/**
 * A document whose id is known and whose stored fields load on first access (a top-1000
 * list would otherwise inflate up to 1,000 stored blocks nobody reads). Own enumerable
 * accessors, so spreading, JSON.stringify and deep equality see ordinary fields.
 */
export function lazyDocument(id: string, reader: SegmentReader, doc: number): Document {
  const o = { id } as Document;
  Object.defineProperty(o, SOURCE, { value: { reader, doc } satisfies LazyState, enumerable: false });
  return Object.defineProperties(o, LAZY_FIELDS);
}

export class DiskSegment implements Bm25Segment {
  constructor(
    readonly reader: SegmentReader,
    readonly deleted: Uint8Array | undefined,
  ) {}

  get maxDoc(): number {
    return this.reader.maxDoc;
  }
  termOrdinal(term: string): number | undefined {
    return this.reader.termOrdinal(term);
  }
  termAt(ordinal: number): string {
    return this.reader.termAt(ordinal);
  }
  docFreq(ordinal: number): number {
    return this.reader.termEntry(ordinal).df;
  }
  postings(ordinal: number): { docs: Uint32Array; freqs: Uint32Array } {
    return this.reader.postings(this.reader.termEntry(ordinal));
  }
  norms(): Uint8Array {
    return this.reader.norms();
  }
  idRank(): Uint32Array {
    return this.reader.idRank();
  }
  docId(doc: number): string {
    return this.reader.docId(doc);
  }
  document(doc: number): Document {
    return lazyDocument(this.reader.docId(doc), this.reader, doc);
  }
  docTerms(doc: number): { ordinals: Uint32Array; titleLength: number } {
    return this.reader.docTerms(doc);
  }
  docOfId(id: string): number | undefined {
    return this.reader.docOfId(id);
  }
}

