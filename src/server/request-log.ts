import { createHash, randomBytes } from "node:crypto";
import { open, rename, stat, type FileHandle } from "node:fs/promises";
import type { RankedResult } from "../core/types.js";

export interface RequestLogOptions {
  file: string;
  /** Share of requests logged, 0..1. */
  sample: number;
  /** Log document texts too (off by default: a log of ids and queries only). */
  texts: boolean;
  /** When the file would pass this, it is renamed to FILE.1 (replacing the last one) and a new one begun. */
  maxBytes: number;
  /** Lines waiting to be written; past this, sampled requests are dropped (counted), never waited for. */
  maxQueuedLines: number;
}

/** One logged request: what `winnow label --request-log` and `winnow eval --request-log` read (docs/server.md). */
export interface RequestLogRecord {
  v: 1;
  /** Random id of this record: the query id in labels and runs. */
  id: string;
  ts: string;
  model: string;
  query: string;
  /** In the request's order: the first stage's. */
  documents: Array<{ id: string; text?: string }>;
  /** Best first, as answered: index into documents. */
  results: Array<{ index: number; score: number }>;
}

/** A document's id in the log: a hash of its text, so the same document gets the same id in every request. */
export function documentId(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 16);
}

/**
 * The server's opt-in sampled request log (JSONL). Recording never blocks or fails a
 * request: lines queue (bounded) and one writer appends them, each with a single write
 * on a file opened O_APPEND, so a line is never interleaved with another; the file is
 * rotated at maxBytes. Write errors are counted and the log keeps going.
 */
export class RequestLog {
  dropped = 0;
  written = 0;
  errors = 0;
  private readonly queue: string[] = [];
  private handle: FileHandle | undefined;
  private bytes = 0;
  private writing: Promise<void> | undefined;
  private closed = false;

  constructor(
    readonly options: RequestLogOptions,
    private readonly random: () => number = Math.random,
    /** Told of the first write error and every 1,000th after it (the server logs them). */
    private readonly onError: (err: Error, errors: number) => void = () => undefined,
  ) {}

  /** Samples the request and queues its line (documents identified by a hash of their text); returns whether it was taken. */
  record(model: string, query: string, texts: readonly string[], results: readonly RankedResult[]): boolean {
    if (!this.takeSample()) return false;
    return this.write(model, query, texts.map((text) => ({ id: documentId(text), text })), results);
  }

  /**
   * Whether to log this request, decided before the work: a caller that must ask for more
   * to log a request (the search route fetches every candidate) asks first, then `write`s.
   */
  takeSample(): boolean {
    return !this.closed && this.random() < this.options.sample;
  }

  /** Queues the line of a request already sampled; documents carry their own ids, in the first stage's order. */
  write(model: string, query: string, documents: ReadonlyArray<{ id: string; text: string }>, results: ReadonlyArray<{ index: number; score: number }>): boolean {
    if (this.closed) return false;
    if (this.queue.length >= this.options.maxQueuedLines) {
      this.dropped++;
      return false;
    }
    const entry: RequestLogRecord = {
      v: 1,
      id: randomBytes(6).toString("hex"),
      ts: new Date().toISOString(),
      model,
      query,
      documents: documents.map((d) => (this.options.texts ? { id: d.id, text: d.text } : { id: d.id })),
      results: results.map((r) => ({ index: r.index, score: r.score })),
    };
    this.queue.push(JSON.stringify(entry) + "\n");
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
    });
    return true;
  }

  /** Resolves when every queued line is written. */
  async flush(): Promise<void> {
    while (this.writing) await this.writing;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
    await this.handle?.close();
    this.handle = undefined;
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const line = this.queue.shift()!;
      const size = Buffer.byteLength(line);
      try {
        if (!this.handle) await this.openFile();
        if (this.bytes > 0 && this.bytes + size > this.options.maxBytes) await this.rotate();
        await this.handle!.write(line);
        this.bytes += size;
        this.written++;
      } catch (err) {
        this.errors++;
        if (this.errors % 1_000 === 1) this.onError(err as Error, this.errors);
        await this.handle?.close().catch(() => undefined);
        this.handle = undefined;
      }
    }
  }

  private async openFile(): Promise<void> {
    this.handle = await open(this.options.file, "a");
    this.bytes = (await stat(this.options.file)).size;
  }

  private async rotate(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
    await rename(this.options.file, `${this.options.file}.1`);
    await this.openFile();
  }
}
