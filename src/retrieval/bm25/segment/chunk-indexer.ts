import { join } from "node:path";
import { InvalidInputError } from "../../../core/errors.js";
import type { Document } from "../../../core/types.js";
import { documentOfLine, type CorpusChunk } from "../corpus-source.js";
import { WriteBudget } from "./checksummed-file.js";
import { SegmentBatch, type BatchOptions, type DocumentOrigin, type FlushedSegment } from "./segment-batch.js";

export interface ChunkIndexerOptions extends BatchOptions {
  /** Folder the temporary segments go in (one subfolder each). */
  workDir: string;
  /** Prefix of this indexer's segment names (one per worker). */
  prefix: string;
  /** Flush a segment once the batch's memory estimate passes this. */
  budgetBytes: number;
  /** Index of the corpus file in the manifest's sources (storeText "source"). */
  sourceFile: number;
  writeLimitBytes?: number;
  /** Shared by the whole build when in one thread; each worker counts its own share. */
  writeBudget?: WriteBudget;
}

/**
 * Turns corpus chunks (or documents) into flushed segments within a memory budget:
 * what each analysis worker runs, and what an in-process build runs.
 */
export class ChunkIndexer {
  private batch: SegmentBatch | undefined;
  private seq = 0;
  readonly flushed: FlushedSegment[] = [];
  documents = 0;
  skippedBlank = 0;
  private readonly budget: WriteBudget;

  constructor(private readonly options: ChunkIndexerOptions) {
    this.budget = options.writeBudget ?? new WriteBudget(options.writeLimitBytes);
  }

  private current(): SegmentBatch {
    if (this.batch === undefined) {
      const name = `${this.options.prefix}-${String(this.seq++).padStart(5, "0")}`;
      this.batch = new SegmentBatch(join(this.options.workDir, name), name, this.options, this.budget);
    }
    return this.batch;
  }

  addDocument(doc: Document, origin: DocumentOrigin): void {
    const batch = this.current();
    batch.add(doc, origin);
    this.documents++;
    if (batch.memoryEstimate >= this.options.budgetBytes) this.flush();
  }

  addChunk(chunk: CorpusChunk): void {
    if (chunk.docs) {
      chunk.docs.forEach((doc, i) => this.addDocument(doc, { line: chunk.docLines![i] }));
      return;
    }
    const file = this.options.fileLabel;
    for (let i = 0; i < chunk.lines.length; i++) {
      const line = chunk.firstLine + i;
      const doc = documentOfLine(file, line, chunk.lines[i]);
      if (doc === undefined) continue;
      this.addDocument(doc, { line, sourceFile: this.options.sourceFile, offset: chunk.offsets?.[i], length: Buffer.byteLength(chunk.lines[i]) });
    }
  }

  flush(): void {
    const batch = this.batch;
    if (batch === undefined) return;
    this.batch = undefined;
    this.skippedBlank += batch.skippedBlank;
    if (batch.documents === 0) {
      batch.writer.abandon();
      return;
    }
    this.flushed.push(batch.flush());
  }

  finish(): FlushedSegment[] {
    this.flush();
    return this.flushed;
  }

  abandon(): void {
    this.batch?.writer.abandon();
  }
}

/** Checks a library caller's document (files are checked by documentOfLine). */
export function checkDocument(doc: Document, position: number): void {
  const where = `documents[${position}]`;
  if (doc === null || typeof doc !== "object") throw new InvalidInputError(`${where} must be a document object`, { field: where });
  if (typeof doc.id !== "string" || doc.id.length === 0) throw new InvalidInputError(`${where}.id must be a non-empty string`, { field: `${where}.id` });
  if (typeof doc.text !== "string") throw new InvalidInputError(`${where}.text must be a string (document "${doc.id}")`, { field: `${where}.text` });
  if (doc.title !== undefined && typeof doc.title !== "string") throw new InvalidInputError(`${where}.title must be a string (document "${doc.id}")`, { field: `${where}.title` });
}
