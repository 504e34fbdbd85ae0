import { InvalidInputError } from "../../../core/errors.js";
import type { Document } from "../../../core/types.js";
import { EnglishAnalyzer } from "../../analysis/english-analyzer.js";
import { TokenMemo } from "../../analysis/token-memo.js";
import type { WriteBudget } from "./checksummed-file.js";
import type { StoreTextMode } from "./segment-files.js";
import { SegmentWriter, type SegmentInfo } from "./segment-writer.js";

/** Where a document came from: for error messages, and for `storeText: "source"`. */
export interface DocumentOrigin {
  /** 1-based line (JSONL) or record number (TREC, iterables). */
  line: number;
  /** Byte range of the record in its (uncompressed) file, for `storeText: "source"`. */
  sourceFile?: number;
  offset?: number;
  length?: number;
}

/** A flushed segment with what the merge needs to know about its documents. */
export interface FlushedSegment {
  info: SegmentInfo;
  /** Source line of each document (error messages for duplicates found across segments). */
  lines: Uint32Array;
  /** Documents superseded inside the batch (`allowDuplicateIds`), 1 = deleted; undefined when none. */
  deleted: Uint8Array | undefined;
}

export interface BatchOptions {
  storeText: StoreTextMode;
  allowDuplicateIds: boolean;
  /** Corpus file named in duplicate-id errors. */
  fileLabel: string;
}

/** The stored record of a document: a JSON line without its id (doc-ids.bin holds that). */
export function storedRecordOf(doc: Document, mode: StoreTextMode, origin: DocumentOrigin): string {
  if (mode === "source") return JSON.stringify({ s: [origin.sourceFile ?? 0, origin.offset ?? 0, origin.length ?? 0] });
  const record: Record<string, unknown> = {};
  if (doc.title !== undefined) record.title = doc.title;
  if (mode === "compressed") record.text = doc.text;
  if (doc.metadata !== undefined) record.metadata = doc.metadata;
  try {
    return JSON.stringify(record);
  } catch (err) {
    throw new InvalidInputError(`document "${doc.id}" cannot be saved: its metadata is not JSON-serializable (${(err as Error).message})`, { field: "metadata", id: doc.id });
  }
}

class GrowableUint32 {
  data = new Uint32Array(1 << 16);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Uint32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Uint32Array {
    return this.data.subarray(0, this.length);
  }
}

/**
 * Analyzes documents into one in-memory batch whose stored fields stream straight to a
 * segment folder, and reports its memory estimate so the caller flushes at a budget.
 * Blank documents are skipped (as Anserini does); a duplicate id inside the batch is
 * refused, or supersedes the earlier one when duplicates are allowed.
 */
export class SegmentBatch {
  private readonly analyzer = new EnglishAnalyzer();
  private readonly termIds = new Map<string, number>();
  private readonly terms: string[] = [];
  private readonly tokenTermIds = new TokenMemo<number>(1 << 20);
  private readonly resolveToken = (token: string): number => {
    const term = this.analyzer.termOfToken(token);
    return term === null ? -1 : this.termId(term);
  };
  private readonly docTerms = new GrowableUint32();
  private readonly docTermOffsets = new GrowableUint32();
  private readonly titleLengths = new GrowableUint32();
  private readonly lines = new GrowableUint32();
  private readonly ids: string[] = [];
  private readonly docOfId = new Map<string, number>();
  private deleted: number[] = [];
  private idChars = 0;
  private termChars = 0;
  readonly writer: SegmentWriter;
  skippedBlank = 0;

  constructor(
    dir: string,
    name: string,
    private readonly options: BatchOptions,
    budget: WriteBudget,
  ) {
    this.writer = new SegmentWriter(dir, name, budget);
    this.docTermOffsets.push(0);
  }

  get documents(): number {
    return this.ids.length;
  }

  /** Bytes this batch holds in memory, and what inverting it at flush will add (postings ≤ tokens). */
  get memoryEstimate(): number {
    return this.docTerms.length * 12 + this.ids.length * 48 + this.idChars * 2 + this.termChars * 2 + this.terms.length * 96;
  }

  add(doc: Document, origin: DocumentOrigin): void {
    if ((doc.title ?? "").trim().length === 0 && doc.text.trim().length === 0) {
      this.skippedBlank++;
      return;
    }
    const earlier = this.docOfId.get(doc.id);
    if (earlier !== undefined) {
      if (!this.options.allowDuplicateIds) {
        throw new InvalidInputError(
          `${this.options.fileLabel}:${origin.line}: duplicate _id "${doc.id}" (first at line ${this.lines.data[earlier]}); pass --allow-duplicate-ids to keep the last`,
          { field: "_id", line: origin.line, id: doc.id },
        );
      }
      this.deleted.push(earlier);
    }
    const d = this.ids.length;
    this.docOfId.set(doc.id, d);
    this.ids.push(doc.id);
    this.idChars += doc.id.length;
    this.lines.push(origin.line);
    this.writer.addStored(doc.id, storedRecordOf(doc, this.options.storeText, origin));
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
      this.termChars += term.length;
      this.termIds.set(term, id);
    }
    return id;
  }

  /** Writes the segment; the batch is spent afterwards. */
  flush(): FlushedSegment {
    const info = this.writer.finish({
      terms: this.terms,
      docTerms: this.docTerms.view(),
      docTermOffsets: this.docTermOffsets.view(),
      titleLengths: this.titleLengths.view(),
      ids: this.ids,
    });
    let deleted: Uint8Array | undefined;
    if (this.deleted.length > 0) {
      deleted = new Uint8Array(this.ids.length);
      for (const d of this.deleted) deleted[d] = 1;
    }
    return { info, lines: this.lines.view().slice(), deleted };
  }
}
