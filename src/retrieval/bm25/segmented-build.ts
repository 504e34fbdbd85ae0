import { availableParallelism } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { renameSync, rmSync, statSync, mkdirSync } from "node:fs";
import { Worker } from "node:worker_threads";
import { InvalidInputError, WinnowError, throwIfAborted } from "../../core/errors.js";
import type { Document } from "../../core/types.js";
import { readCorpusChunks, resolveCorpus, type CorpusFile } from "./corpus-source.js";
import { DEFAULT_BM25_PARAMS, type Bm25Params } from "./lucene-bm25.js";
import { DEFAULT_MERGE_POLICY, planMerges, type MergePolicy } from "./merge-policy.js";
import { ChunkIndexer, checkDocument, type ChunkIndexerOptions } from "./segment/chunk-indexer.js";
import { WriteBudget } from "./segment/checksummed-file.js";
import { storedRecordOf, type FlushedSegment } from "./segment/segment-batch.js";
import { SegmentWriter } from "./segment/segment-writer.js";
import type { IndexData } from "./bm25-segment.js";
import type { StoreTextMode } from "./segment/segment-files.js";
import { mergeSegments, type MergeInput } from "./segment/segment-merger.js";
import { SegmentReader } from "./segment/segment-reader.js";
import type { WorkerReply, WorkerRequest } from "./segment/analysis-worker.js";
import {
  BM25_FORMAT,
  BM25_SEGMENTED_VERSION,
  commitManifest,
  newSegmentId,
  prepareIndexFolder,
  publishSegment,
  readDeletes,
  readSegmentedManifest,
  removeUnreferenced,
  writeDeletes,
  type SegmentEntry,
  type SegmentedManifest,
} from "./segmented-directory.js";

/** Describes the analysis chain in the manifest so a future chain cannot silently read old terms. */
export const ANALYZER_ID = "lucene-english-8:standard,possessive,lowercase,stop33,porter";
export const DEFAULT_MEMORY_BUDGET_MB = 256;

/** What `winnow index` and the library's on-disk builds read: a corpus path, or documents. */
export type CorpusInput = string | Iterable<Document> | AsyncIterable<Document>;

export interface IndexProgress {
  documents: number;
  /** Bytes of the corpus file read so far and its size (plain files only), for an ETA. */
  bytesRead?: number;
  totalBytes?: number;
}

export interface IndexWriteOptions extends Partial<Bm25Params> {
  /** How stored text is kept (default "compressed"); fixed at the first build, appends follow it. */
  storeText?: StoreTextMode;
  /** Analysis memory before a segment is flushed, in MB (default 256; split among workers). */
  memoryBudgetMb?: number;
  /** A repeated _id: refused by default; with this, the last one wins. */
  allowDuplicateIds?: boolean;
  /** Analysis worker threads for corpus files (default: cores, at most 2; 0 analyzes in this thread). */
  workers?: number;
  onProgress?: (progress: IndexProgress) => void;
  signal?: AbortSignal;
  mergePolicy?: MergePolicy;
  /** Test seam for crash safety: runs after every new file is on disk, before the manifest swap. */
  beforeCommit?: () => void | Promise<void>;
  /** @internal Test seam simulating a full disk: total bytes one writer thread may write. */
  writeLimitBytes?: number;
}

export interface IndexWriteSummary {
  /** Live documents in the index after the commit. */
  documents: number;
  /** Documents this call added (new ids and replacements). */
  added: number;
  /** Existing documents replaced by an appended document with the same id. */
  replaced: number;
  deleted: number;
  skippedBlank: number;
  segments: number;
  merged: number;
}

function checkOptions(options: IndexWriteOptions): void {
  if (options.storeText !== undefined && !["compressed", "none", "source"].includes(options.storeText)) {
    throw new InvalidInputError(`storeText must be compressed, none or source, got ${String(options.storeText)}`, { field: "storeText" });
  }
  const mb = options.memoryBudgetMb;
  if (mb !== undefined && (typeof mb !== "number" || !Number.isFinite(mb) || mb < 0.01 || mb > 65536)) {
    throw new InvalidInputError(`memoryBudgetMb must be between 0.01 and 65536, got ${String(mb)}`, { field: "memoryBudgetMb" });
  }
  const w = options.workers;
  if (w !== undefined && (!Number.isInteger(w) || w < 0 || w > 64)) throw new InvalidInputError(`workers must be an integer between 0 and 64, got ${String(w)}`, { field: "workers" });
}

/** Starts an analysis worker: the built .js, or from source a bootstrap that registers tsx inside it first. */
function startWorker(): Worker {
  if (!import.meta.url.endsWith(".ts")) return new Worker(new URL("./segment/analysis-worker.js", import.meta.url));
  const tsxApi = pathToFileURL(join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist/esm/api/index.mjs")).href;
  const entry = new URL("./segment/analysis-worker.ts", import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsxApi)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`, { eval: true });
}

interface Produced {
  flushed: FlushedSegment[];
  documents: number;
  skippedBlank: number;
  fileLabel: string;
}

/** Analyzes the corpus into flushed segments under `workDir` (workers for files, this thread for iterables). */
async function produceSegments(workDir: string, input: CorpusInput, options: IndexWriteOptions, storeText: StoreTextMode, sourceFile: number): Promise<Produced> {
  const budgetBytes = (options.memoryBudgetMb ?? DEFAULT_MEMORY_BUDGET_MB) * 1024 * 1024;
  const allowDuplicateIds = options.allowDuplicateIds === true;
  if (typeof input !== "string") {
    if (input === null || typeof input !== "object" || (!(Symbol.iterator in input) && !(Symbol.asyncIterator in input))) {
      throw new InvalidInputError("documents must be a corpus path, an iterable or an async iterable of documents", { field: "documents" });
    }
    if (storeText === "source") throw new InvalidInputError(`storeText "source" needs a corpus file to point into, not documents in memory`, { field: "storeText" });
    const indexer = new ChunkIndexer({ workDir, prefix: "m", budgetBytes, storeText, allowDuplicateIds, fileLabel: "documents", sourceFile, writeLimitBytes: options.writeLimitBytes });
    let position = 0;
    const add = (doc: Document) => {
      checkDocument(doc, position);
      position++;
      indexer.addDocument(doc, { line: position });
      if (position % 1000 === 0) {
        throwIfAborted(options.signal);
        options.onProgress?.({ documents: position });
      }
    };
    try {
      if (Symbol.asyncIterator in input) for await (const doc of input as AsyncIterable<Document>) add(doc);
      else for (const doc of input as Iterable<Document>) add(doc);
      const flushed = indexer.finish();
      options.onProgress?.({ documents: position });
      return { flushed, documents: position, skippedBlank: indexer.skippedBlank, fileLabel: "documents" };
    } catch (err) {
      indexer.abandon();
      throw err;
    }
  }
  const file: CorpusFile = resolveCorpus(input);
  if (storeText === "source" && file.format !== "jsonl") {
    throw new InvalidInputError(`--store-text source needs an uncompressed JSONL corpus to point into; ${file.path} is ${file.format}`, { field: "storeText" });
  }
  const totalBytes = file.format === "jsonl.gz" ? undefined : statSync(file.path).size;
  const workers = options.workers ?? Math.min(2, availableParallelism());
  const base: Omit<ChunkIndexerOptions, "prefix" | "budgetBytes"> = { workDir, storeText, allowDuplicateIds, fileLabel: file.path, sourceFile, writeLimitBytes: options.writeLimitBytes };
  if (workers <= 1) {
    const indexer = new ChunkIndexer({ ...base, prefix: "m", budgetBytes, writeBudget: new WriteBudget(options.writeLimitBytes) });
    try {
      for await (const chunk of readCorpusChunks(file)) {
        throwIfAborted(options.signal);
        indexer.addChunk(chunk);
        options.onProgress?.({ documents: indexer.documents, bytesRead: chunk.offsets?.[chunk.offsets.length - 1], totalBytes });
      }
      const flushed = indexer.finish();
      return { flushed, documents: indexer.documents, skippedBlank: indexer.skippedBlank, fileLabel: file.path };
    } catch (err) {
      indexer.abandon();
      throw err;
    }
  }
  return produceWithWorkers(file, workers, base, budgetBytes, options, totalBytes);
}

async function produceWithWorkers(
  file: CorpusFile,
  count: number,
  base: Omit<ChunkIndexerOptions, "prefix" | "budgetBytes">,
  budgetBytes: number,
  options: IndexWriteOptions,
  totalBytes: number | undefined,
): Promise<Produced> {
  const pool = Array.from({ length: count }, (_, i) => ({ worker: startWorker(), outstanding: 0, documents: 0, index: i }));
  let failure: WinnowError | undefined;
  let wake: (() => void) | undefined;
  const done: Array<Promise<{ flushed: FlushedSegment[]; skippedBlank: number; documents: number }>> = [];
  for (const slot of pool) {
    done.push(
      new Promise((resolveDone, rejectDone) => {
        slot.worker.on("message", (msg: WorkerReply) => {
          if (msg.type === "ack") {
            slot.outstanding--;
            slot.documents = msg.documents;
            wake?.();
          } else if (msg.type === "done") resolveDone(msg);
          else {
            failure ??= new WinnowError(msg.code as never, msg.message, { details: msg.details });
            wake?.();
            rejectDone(failure);
          }
        });
        slot.worker.on("error", (err) => {
          failure ??= new WinnowError("INTERNAL", `an analysis worker failed: ${err.message}`, { cause: err });
          wake?.();
          rejectDone(failure);
        });
        slot.worker.on("exit", (code) => {
          if (code !== 0) {
            failure ??= new WinnowError("INTERNAL", `an analysis worker exited with code ${code} (out of memory? lower --memory-budget)`);
            wake?.();
            rejectDone(failure);
          }
        });
      }),
    );
    done[done.length - 1].catch(() => undefined);
    slot.worker.postMessage({ type: "init", options: { ...base, prefix: `w${slot.index}`, budgetBytes: Math.floor(budgetBytes / count) } } satisfies WorkerRequest);
  }
  const documents = () => pool.reduce((s, p) => s + p.documents, 0);
  try {
    let next = 0;
    for await (const chunk of readCorpusChunks(file)) {
      const slot = pool[next++ % count];
      // Two chunks in flight per worker: enough to keep it busy, little memory.
      while (slot.outstanding >= 2 && failure === undefined) await new Promise<void>((r) => (wake = r));
      if (failure) throw failure;
      throwIfAborted(options.signal);
      slot.outstanding++;
      slot.worker.postMessage({ type: "chunk", chunk } satisfies WorkerRequest);
      options.onProgress?.({ documents: documents(), bytesRead: chunk.offsets?.[chunk.offsets.length - 1], totalBytes });
    }
    for (const slot of pool) slot.worker.postMessage({ type: "end" } satisfies WorkerRequest);
    const results = await Promise.all(done);
    // Segment order: worker, then sequence; deterministic for a given worker count.
    const flushed = results.flatMap((r) => r.flushed);
    options.onProgress?.({ documents: results.reduce((s, r) => s + r.documents, 0), bytesRead: totalBytes, totalBytes });
    return { flushed, documents: results.reduce((s, r) => s + r.documents, 0), skippedBlank: results.reduce((s, r) => s + r.skippedBlank, 0), fileLabel: file.path };
  } finally {
    await Promise.all(pool.map((p) => p.worker.terminate()));
  }
}

function readerOf(dir: string, segDir: string, entry: SegmentEntry): SegmentReader {
  return new SegmentReader(segDir, dir, entry, () => {
    throw new Error("merge readers do not read documents");
  });
}

/** Turns the produced segments into one published segment (renamed, or merged when there are several or deletions). */
function combineProduced(dir: string, workDir: string, produced: Produced, options: IndexWriteOptions): SegmentEntry {
  const name = `seg-${newSegmentId()}`;
  const one = produced.flushed.length === 1 ? produced.flushed[0] : undefined;
  if (one && one.deleted === undefined) {
    renameSync(join(workDir, one.info.name), join(dir, name));
    return { ...one.info, name };
  }
  const readers = produced.flushed.map((f) => readerOf(dir, join(workDir, f.info.name), f.info));
  try {
    const temp = `.tmp-${newSegmentId()}`;
    const inputs: MergeInput[] = produced.flushed.map((f, i) => ({ reader: readers[i], deleted: f.deleted, lines: f.lines }));
    const info = mergeSegments(join(dir, temp), name, inputs, {
      duplicates: options.allowDuplicateIds ? "last-wins" : "refuse",
      fileLabel: produced.fileLabel,
      budget: new WriteBudget(options.writeLimitBytes),
    });
    publishSegment(dir, temp, name);
    return info;
  } finally {
    for (const r of readers) r.close();
  }
}

function emptyCorpus(produced: Produced): never {
  if (produced.documents === 0) throw new InvalidInputError(`${produced.fileLabel}: corpus is empty (no documents)`, { field: "corpus" });
  throw new InvalidInputError(`${produced.fileLabel}: no document has any text (${produced.skippedBlank} blank documents skipped)`, { field: "corpus" });
}

function previousGeneration(dir: string): number {
  try {
    return readSegmentedManifest(dir).generation;
  } catch {
    return 0;
  }
}

/** Removes this call's temp folder and any uncommitted segment on failure; the committed index is untouched. */
function cleanUpAfterFailure(dir: string, workDir: string, published: string[], createdDir = false): void {
  rmSync(workDir, { recursive: true, force: true });
  for (const name of published) rmSync(join(dir, name), { recursive: true, force: true });
  // A folder this call created holds nothing worth keeping.
  if (createdDir) rmSync(dir, { recursive: true, force: true });
}

function folderExists(dir: string): boolean {
  try {
    statSync(dir);
    return true;
  } catch {
    return false;
  }
}

/**
 * Builds a new index at `dir` from a corpus in bounded memory (streamed, analyzed in
 * worker threads, segments flushed at the memory budget and merged), replacing what was
 * there atomically. Errors leave the previous index as it was.
 */
export async function writeIndex(dir: string, input: CorpusInput, options: IndexWriteOptions = {}): Promise<IndexWriteSummary> {
  checkOptions(options);
  const params: Bm25Params = { k1: options.k1 ?? DEFAULT_BM25_PARAMS.k1, b: options.b ?? DEFAULT_BM25_PARAMS.b };
  const created = !folderExists(dir);
  prepareIndexFolder(dir);
  const storeText = options.storeText ?? "compressed";
  const workDir = join(dir, `.tmp-${newSegmentId()}`);
  mkdirSync(workDir);
  const published: string[] = [];
  try {
    const produced = await produceSegments(workDir, input, options, storeText, 0);
    if (produced.flushed.length === 0) emptyCorpus(produced);
    const entry = combineProduced(dir, workDir, produced, options);
    published.push(entry.name);
    const manifest: SegmentedManifest = {
      format: BM25_FORMAT,
      version: BM25_SEGMENTED_VERSION,
      analyzer: ANALYZER_ID,
      params,
      storeText,
      sources: storeText === "source" ? [resolve(resolveCorpus(input as string).path)] : undefined,
      generation: previousGeneration(dir) + 1,
      segments: [entry],
      skippedBlank: produced.skippedBlank,
      vocabulary: entry.terms,
    };
    await commitManifest(dir, manifest, { beforeCommit: options.beforeCommit });
    return { documents: entry.maxDoc, added: entry.maxDoc, replaced: 0, deleted: 0, skippedBlank: produced.skippedBlank, segments: 1, merged: produced.flushed.length };
  } catch (err) {
    cleanUpAfterFailure(dir, workDir, published, created);
    throw err;
  }
}

interface OpenState {
  manifest: SegmentedManifest;
  readers: SegmentReader[];
  deleted: Array<Uint8Array | undefined>;
}

function openForUpdate(dir: string): OpenState {
  const manifest = readSegmentedManifest(dir);
  prepareIndexFolder(dir);
  const readers = manifest.segments.map((s) => readerOf(dir, join(dir, s.name), s));
  const deleted = manifest.segments.map((s) => (s.deletes ? readDeletes(dir, s.deletes, s.maxDoc) : undefined));
  return { manifest, readers, deleted };
}

/** Applies the merge policy (or a forced merge) to `segments`; returns the new list and how many were merged. */
function applyMerges(dir: string, state: { entries: SegmentEntry[]; readers: SegmentReader[]; deleted: Array<Uint8Array | undefined> }, groups: string[][], options: IndexWriteOptions, published: string[]): number {
  let merged = 0;
  for (const group of groups) {
    const members = state.entries.map((e, i) => ({ e, i })).filter(({ e }) => group.includes(e.name));
    if (members.length === 0) continue;
    const name = `seg-${newSegmentId()}`;
    const temp = `.tmp-${newSegmentId()}`;
    const info = mergeSegments(
      join(dir, temp),
      name,
      members.map(({ i }) => ({ reader: state.readers[i], deleted: state.deleted[i] })),
      { duplicates: "last-wins", budget: new WriteBudget(options.writeLimitBytes) },
    );
    publishSegment(dir, temp, name);
    published.push(name);
    const reader = readerOf(dir, join(dir, name), info);
    const first = members[0].i;
    const drop = new Set(members.map(({ i }) => i));
    const entries: SegmentEntry[] = [];
    const readers: SegmentReader[] = [];
    const deleted: Array<Uint8Array | undefined> = [];
    state.entries.forEach((e, i) => {
      if (i === first) {
        entries.push(info);
        readers.push(reader);
        deleted.push(undefined);
      } else if (!drop.has(i)) {
        entries.push(e);
        readers.push(state.readers[i]);
        deleted.push(state.deleted[i]);
      }
    });
    for (const i of drop) state.readers[i].close();
    state.entries = entries;
    state.readers = readers;
    state.deleted = deleted;
    merged += members.length;
  }
  return merged;
}

function deletedCount(d: Uint8Array | undefined): number {
  if (!d) return 0;
  let n = 0;
  for (let i = 0; i < d.length; i++) n += d[i];
  return n;
}

/** Deletion files for segments whose marks changed, the merge policy, the vocabulary bound, the commit. */
async function finishUpdate(
  dir: string,
  manifest: SegmentedManifest,
  state: { entries: SegmentEntry[]; readers: SegmentReader[]; deleted: Array<Uint8Array | undefined> },
  changed: Set<string>,
  options: IndexWriteOptions,
  published: string[],
  forceMaxSegments?: number,
  extra: Partial<SegmentedManifest> = {},
): Promise<{ merged: number; documents: number; segments: number }> {
  const generation = manifest.generation + 1;
  let groups: string[][];
  if (forceMaxSegments !== undefined) {
    groups = state.entries.length > forceMaxSegments || state.deleted.some((d) => deletedCount(d) > 0) ? [state.entries.map((e) => e.name)] : [];
  } else {
    groups = planMerges(
      state.entries.map((e, i) => ({ name: e.name, maxDoc: e.maxDoc, deleted: deletedCount(state.deleted[i]) })),
      options.mergePolicy ?? DEFAULT_MERGE_POLICY,
    );
  }
  const merged = applyMerges(dir, state, groups, options, published);
  const entries = state.entries.map((e, i) => {
    const { deletes: _old, ...rest } = e;
    const d = state.deleted[i];
    if (d === undefined || deletedCount(d) === 0) return rest as SegmentEntry;
    if (!changed.has(e.name) && e.deletes) return e;
    const deletes = writeDeletes(dir, e.name, generation, d);
    published.push(deletes.file);
    return { ...rest, deletes } as SegmentEntry;
  });
  let documents = 0;
  entries.forEach((e, i) => (documents += e.maxDoc - deletedCount(state.deleted[i])));
  const vocabulary = entries.length === 1 && !entries[0].deletes ? entries[0].terms : entries.reduce((s, e) => s + e.terms, 0);
  await commitManifest(dir, { ...manifest, ...extra, generation, segments: entries, vocabulary }, { beforeCommit: options.beforeCommit });
  return { merged, documents, segments: entries.length };
}

/**
 * Adds documents to the index at `dir` as a new segment; a document whose id is already
 * in the index replaces it (the old one is marked deleted). Then the merge policy runs,
 * and one atomic commit makes it all visible; a crash before it leaves the index as it was.
 */
export async function appendToIndex(dir: string, input: CorpusInput, options: IndexWriteOptions = {}): Promise<IndexWriteSummary> {
  checkOptions(options);
  const state0 = openForUpdate(dir);
  const { manifest } = state0;
  if (options.storeText !== undefined && options.storeText !== manifest.storeText) {
    throw new InvalidInputError(`--store-text ${options.storeText} differs from the index's (${manifest.storeText}); appends keep the index's mode`, { field: "storeText" });
  }
  const storeText = manifest.storeText as StoreTextMode;
  const sources = [...(manifest.sources ?? [])];
  const workDir = join(dir, `.tmp-${newSegmentId()}`);
  mkdirSync(workDir);
  const published: string[] = [];
  try {
    if (storeText === "source") {
      if (typeof input !== "string") throw new InvalidInputError(`the index stores text by reference (storeText "source"): append a corpus file, not documents in memory`, { field: "storeText" });
      sources.push(resolve(resolveCorpus(input).path));
    }
    const produced = await produceSegments(workDir, input, options, storeText, sources.length - 1);
    if (produced.flushed.length === 0) emptyCorpus(produced);
    const entry = combineProduced(dir, workDir, produced, options);
    published.push(entry.name);
    const added = readerOf(dir, join(dir, entry.name), entry);
    const deleted = state0.deleted.map((d) => d?.slice());
    const changed = new Set<string>();
    let replaced = 0;
    for (const [id] of added.idsInOrder()) {
      state0.readers.forEach((reader, s) => {
        const d = reader.docOfId(id);
        if (d === undefined || deleted[s]?.[d]) return;
        (deleted[s] ??= new Uint8Array(reader.maxDoc))[d] = 1;
        changed.add(manifest.segments[s].name);
        replaced++;
      });
    }
    const state = { entries: [...manifest.segments, entry], readers: [...state0.readers, added], deleted: [...deleted, undefined] };
    const result = await finishUpdate(dir, manifest, state, changed, options, published, undefined, {
      skippedBlank: manifest.skippedBlank + produced.skippedBlank,
      sources: storeText === "source" ? sources : undefined,
    });
    for (const r of state.readers) r.close();
    return { documents: result.documents, added: entry.maxDoc, replaced, deleted: 0, skippedBlank: produced.skippedBlank, segments: result.segments, merged: result.merged };
  } catch (err) {
    for (const r of state0.readers) r.close();
    cleanUpAfterFailure(dir, workDir, published);
    throw err;
  }
}

/** Marks the documents with these ids deleted (ids not in the index are counted, not errors), then merges per policy. */
export async function deleteFromIndex(dir: string, ids: Iterable<string>, options: IndexWriteOptions = {}): Promise<IndexWriteSummary & { missing: number }> {
  const state0 = openForUpdate(dir);
  const { manifest } = state0;
  const deleted = state0.deleted.map((d) => d?.slice());
  const changed = new Set<string>();
  let count = 0;
  let missing = 0;
  const published: string[] = [];
  try {
    for (const id of ids) {
      if (typeof id !== "string" || id.length === 0) throw new InvalidInputError(`ids must be non-empty strings, got ${JSON.stringify(id)}`, { field: "ids" });
      let found = false;
      state0.readers.forEach((reader, s) => {
        const d = reader.docOfId(id);
        if (d === undefined || deleted[s]?.[d]) return;
        (deleted[s] ??= new Uint8Array(reader.maxDoc))[d] = 1;
        changed.add(manifest.segments[s].name);
        found = true;
      });
      if (found) count++;
      else missing++;
    }
    const state = { entries: [...manifest.segments], readers: [...state0.readers], deleted };
    const result = await finishUpdate(dir, manifest, state, changed, options, published);
    for (const r of state.readers) r.close();
    return { documents: result.documents, added: 0, replaced: 0, deleted: count, missing, skippedBlank: 0, segments: result.segments, merged: result.merged };
  } catch (err) {
    for (const r of state0.readers) r.close();
    for (const name of published) rmSync(join(dir, name), { recursive: true, force: true });
    removeUnreferenced(dir, readSegmentedManifest(dir).segments);
    throw err;
  }
}

/** Merges the index down to `maxSegments` (default 1) segments, expunging deletions. */
export async function mergeIndex(dir: string, options: IndexWriteOptions & { maxSegments?: number } = {}): Promise<IndexWriteSummary> {
  const state0 = openForUpdate(dir);
  const published: string[] = [];
  try {
    const state = { entries: [...state0.manifest.segments], readers: [...state0.readers], deleted: [...state0.deleted] };
    const result = await finishUpdate(dir, state0.manifest, state, new Set(), options, published, options.maxSegments ?? 1);
    for (const r of state.readers) r.close();
    return { documents: result.documents, added: 0, replaced: 0, deleted: 0, skippedBlank: 0, segments: result.segments, merged: result.merged };
  } catch (err) {
    for (const r of state0.readers) r.close();
    for (const name of published) rmSync(join(dir, name), { recursive: true, force: true });
    throw err;
  }
}

/** Saves an in-memory index's analyzed arrays as a one-segment index at `dir` (atomic; no re-analysis). */
export async function saveAnalyzedIndex(dir: string, data: IndexData, params: Bm25Params, options: { storeText: StoreTextMode; beforeCommit?: () => void | Promise<void> }): Promise<void> {
  if (options.storeText === "source") throw new InvalidInputError(`storeText "source" needs a corpus file to point into; an in-memory index has none`, { field: "storeText" });
  const created = !folderExists(dir);
  prepareIndexFolder(dir);
  const name = `seg-${newSegmentId()}`;
  const temp = `.tmp-${newSegmentId()}`;
  const writer = new SegmentWriter(join(dir, temp), name);
  const published: string[] = [];
  try {
    data.docs.forEach((doc, i) => writer.addStored(doc.id, storedRecordOf(doc, options.storeText, { line: i + 1 })));
    const info = writer.finish({ terms: data.terms, docTerms: data.docTerms, docTermOffsets: data.docTermOffsets, titleLengths: data.titleLengths, ids: data.docs.map((d) => d.id) });
    publishSegment(dir, temp, name);
    published.push(name);
    await commitManifest(
      dir,
      {
        format: BM25_FORMAT,
        version: BM25_SEGMENTED_VERSION,
        analyzer: ANALYZER_ID,
        params,
        storeText: options.storeText,
        generation: previousGeneration(dir) + 1,
        segments: [info],
        skippedBlank: data.skippedBlank,
        vocabulary: info.terms,
      },
      { beforeCommit: options.beforeCommit },
    );
  } catch (err) {
    writer.abandon();
    cleanUpAfterFailure(dir, join(dir, temp), published, created);
    throw err;
  }
}
