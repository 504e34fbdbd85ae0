import { closeSync, openSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { inflateRawSync } from "node:zlib";
import { compareIdsCodePoint } from "../../../core/id-order.js";
import { WinnowError } from "../../../core/errors.js";
import type { Document } from "../../../core/types.js";
import { ByteSource } from "./byte-sink.js";
import { crc32OfFile } from "./checksummed-file.js";
import { decodePostings, readBlockIndex, type BlockIndex } from "./postings-codec.js";
import { SEGMENT_FILES, SMALL_FILES, TERMS_PER_BLOCK } from "./segment-files.js";
import type { SegmentInfo } from "./segment-writer.js";

/** One decoded dictionary block. */
interface TermBlock {
  terms: string[];
  dfs: Uint32Array;
  cfs: Float64Array;
  offsets: Float64Array;
  lengths: Uint32Array;
}

export interface TermEntry {
  ordinal: number;
  term: string;
  df: number;
  totalTf: number;
  offset: number;
  length: number;
}

/** Reads a stored record (a JSON line of the segment) back into a Document. */
export type StoredDocumentReader = (id: string, record: string) => Document;

/** Encoded postings kept per segment for repeated query terms. */
const POSTINGS_CACHE_BYTES = 64 * 1024 * 1024;

/** A small LRU on a Map's insertion order. */
class BlockCache<V> {
  private readonly map = new Map<number, V>();
  constructor(private readonly capacity: number) {}
  get(key: number): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) {
      this.map.delete(key);
      this.map.set(key, v);
    }
    return v;
  }
  set(key: number, v: V): void {
    if (this.map.size >= this.capacity) this.map.delete(this.map.keys().next().value as number);
    this.map.set(key, v);
  }
}

function corrupt(dir: string, message: string, cause?: unknown): WinnowError {
  return new WinnowError("INDEX_CORRUPT", `index at ${dir} is corrupt: ${message}; rebuild it with \`winnow index\``, { details: { path: dir }, cause });
}

/**
 * Read access to one segment folder by positioned reads (Node has no mmap): opening
 * reads the sparse term, id and stored-block indexes only; norms and id ranks load on
 * the first search; everything else is read at the offsets a query or lookup touches,
 * with small LRUs of decoded dictionary, id and stored blocks.
 */
export class SegmentReader {
  readonly maxDoc: number;
  readonly terms: number;
  private readonly fds = new Map<string, number>();
  private readonly blockFirstTerms: string[];
  private readonly blockOffsets: Float64Array;
  private readonly termsFileBytes: number;
  private readonly idBlockFirst: string[];
  private readonly idBlockOffsets: Float64Array;
  private readonly idsFileBytes: number;
  private readonly storedFirstDocs: Float64Array;
  private readonly storedOffsets: Float64Array;
  private readonly termBlocks = new BlockCache<TermBlock>(512);
  private readonly idBlocks = new BlockCache<Array<[string, number]>>(64);
  private readonly storedBlocks = new BlockCache<string[]>(64);
  private normsArray: Uint8Array | undefined;
  private idRankArray: Uint32Array | undefined;
  private readonly scratch = Buffer.allocUnsafe(16);
  private idBytes: Buffer | undefined;
  private idOffsets: Uint32Array | undefined;
  /** Encoded postings and block headers of recently queried terms, by ordinal (queries repeat terms); LRU within POSTINGS_CACHE_BYTES. */
  private readonly postingsCache = new Map<number, { bytes: Uint8Array; blocks: BlockIndex }>();
  private postingsCacheBytes = 0;

  constructor(
    readonly dir: string,
    readonly indexDir: string,
    readonly info: SegmentInfo,
    private readonly readStored: StoredDocumentReader,
  ) {
    this.maxDoc = info.maxDoc;
    this.terms = info.terms;
    for (const [name, entry] of Object.entries(info.files)) {
      let size: number;
      try {
        size = statSync(join(dir, name)).size;
      } catch (err) {
        throw corrupt(indexDir, `${info.name}/${name} is missing`, err);
      }
      if (size !== entry.bytes) throw corrupt(indexDir, `${info.name}/${name} has ${size} bytes, the manifest says ${entry.bytes}`);
      if (SMALL_FILES.has(name) && crc32OfFile(join(dir, name)).crc32 !== entry.crc32) {
        throw corrupt(indexDir, `${info.name}/${name} does not match its checksum`);
      }
    }
    for (const name of Object.values(SEGMENT_FILES)) if (info.files[name] === undefined) throw corrupt(indexDir, `${info.name}/${name} is missing from the manifest`);
    // Every file is opened now, so a later commit that removes this segment cannot pull files from under an open index.
    for (const name of Object.values(SEGMENT_FILES)) this.fd(name);
    // Checksums catch damaged bytes; this catches files that are intact but inconsistent with each other.
    const n = info.maxDoc;
    const sizes: Array<[string, number]> = [
      [SEGMENT_FILES.norms, n],
      [SEGMENT_FILES.idRank, 4 * n],
      [SEGMENT_FILES.docIdOffsets, 4 * (n + 1)],
      [SEGMENT_FILES.vectorOffsets, 8 * (n + 1)],
    ];
    for (const [name, bytes] of sizes) {
      if (info.files[name].bytes !== bytes) throw corrupt(indexDir, `${info.name}: per-document file ${name} has ${info.files[name].bytes} bytes for ${n} documents`);
    }
    try {
      const ti = new ByteSource(this.readWhole(SEGMENT_FILES.termsIndex));
      if (ti.varint() !== info.terms) throw new Error("term count differs from the manifest");
      const blocks = ti.varint();
      this.blockFirstTerms = new Array(blocks);
      this.blockOffsets = new Float64Array(blocks);
      for (let b = 0; b < blocks; b++) {
        this.blockFirstTerms[b] = ti.string();
        this.blockOffsets[b] = ti.varint();
      }
      this.termsFileBytes = info.files[SEGMENT_FILES.terms].bytes;
      const ii = new ByteSource(this.readWhole(SEGMENT_FILES.idsIndex));
      if (ii.varint() !== info.maxDoc) throw new Error("id count differs from the manifest");
      const idBlocks = ii.varint();
      this.idBlockFirst = new Array(idBlocks);
      this.idBlockOffsets = new Float64Array(idBlocks);
      for (let b = 0; b < idBlocks; b++) {
        this.idBlockFirst[b] = ii.string();
        this.idBlockOffsets[b] = ii.varint();
      }
      this.idsFileBytes = info.files[SEGMENT_FILES.ids].bytes;
      const si = new ByteSource(this.readWhole(SEGMENT_FILES.storedIndex));
      if (si.varint() !== info.maxDoc) throw new Error("stored document count differs from the manifest");
      const firsts: number[] = [];
      const offs: number[] = [];
      while (!si.done) {
        firsts.push(si.varint());
        offs.push(si.varint());
      }
      this.storedFirstDocs = Float64Array.from(firsts);
      this.storedOffsets = Float64Array.from(offs);
    } catch (err) {
      if (err instanceof WinnowError) throw err;
      throw corrupt(indexDir, `${info.name} has a damaged index file (${(err as Error).message})`, err);
    }
  }

  private fd(name: string): number {
    let fd = this.fds.get(name);
    if (fd === undefined) {
      fd = openSync(join(this.dir, name), "r");
      this.fds.set(name, fd);
    }
    return fd;
  }

  /** `length` bytes of file `name` at `position`. */
  read(name: string, position: number, length: number, into?: Buffer): Buffer {
    const buf = into ?? Buffer.allocUnsafe(length);
    let got = 0;
    const fd = this.fd(name);
    while (got < length) {
      const n = readSync(fd, buf, got, length - got, position + got);
      if (n === 0) throw corrupt(this.indexDir, `${this.info.name}/${name} ends before byte ${position + length}`);
      got += n;
    }
    return buf;
  }

  private readWhole(name: string): Buffer {
    return this.read(name, 0, this.info.files[name].bytes);
  }

  /** Lucene norm byte per document (loaded on first use: N bytes). */
  norms(): Uint8Array {
    return (this.normsArray ??= new Uint8Array(this.readWhole(SEGMENT_FILES.norms)));
  }

  /** Rank of each document's id among this segment's ids (loaded on first use: 4N bytes). */
  idRank(): Uint32Array {
    if (this.idRankArray === undefined) {
      const bytes = this.readWhole(SEGMENT_FILES.idRank);
      const out = new Uint32Array(this.maxDoc);
      new Uint8Array(out.buffer).set(bytes);
      this.idRankArray = out;
    }
    return this.idRankArray;
  }

  private termBlock(b: number): TermBlock {
    let block = this.termBlocks.get(b);
    if (block !== undefined) return block;
    const start = this.blockOffsets[b];
    const end = b + 1 < this.blockOffsets.length ? this.blockOffsets[b + 1] : this.termsFileBytes;
    block = decodeTermBlock(this.read(SEGMENT_FILES.terms, start, end - start), Math.min(TERMS_PER_BLOCK, this.terms - b * TERMS_PER_BLOCK));
    this.termBlocks.set(b, block);
    return block;
  }

  /** The term's ordinal in this segment's sorted dictionary, or undefined. */
  termOrdinal(term: string): number | undefined {
    const firsts = this.blockFirstTerms;
    let lo = 0;
    let hi = firsts.length - 1;
    if (hi < 0 || term < firsts[0]) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (firsts[mid] <= term) lo = mid;
      else hi = mid - 1;
    }
    const block = this.termBlock(lo);
    const i = block.terms.indexOf(term);
    return i < 0 ? undefined : lo * TERMS_PER_BLOCK + i;
  }

  termEntry(ordinal: number): TermEntry {
    const b = Math.floor(ordinal / TERMS_PER_BLOCK);
    const i = ordinal - b * TERMS_PER_BLOCK;
    const block = this.termBlock(b);
    return { ordinal, term: block.terms[i], df: block.dfs[i], totalTf: block.cfs[i], offset: block.offsets[i], length: block.lengths[i] };
  }

  termAt(ordinal: number): string {
    const b = Math.floor(ordinal / TERMS_PER_BLOCK);
    return this.termBlock(b).terms[ordinal - b * TERMS_PER_BLOCK];
  }

  postingsBytes(entry: TermEntry): Uint8Array {
    return this.read(SEGMENT_FILES.postings, entry.offset, entry.length);
  }

  /** A term's encoded postings with their decoded block headers, from a small byte-bounded LRU. */
  termPostings(entry: TermEntry): { bytes: Uint8Array; blocks: BlockIndex } {
    const cache = this.postingsCache;
    let hit = cache.get(entry.ordinal);
    if (hit !== undefined) {
      cache.delete(entry.ordinal);
      cache.set(entry.ordinal, hit);
      return hit;
    }
    const bytes = this.postingsBytes(entry);
    let blocks: BlockIndex;
    try {
      blocks = readBlockIndex(bytes, entry.df);
    } catch (err) {
      throw corrupt(this.indexDir, `${this.info.name}/postings.bin is damaged at term "${entry.term}"`, err);
    }
    hit = { bytes, blocks };
    const size = bytes.length + blocks.lastDocs.length * 13;
    if (size <= POSTINGS_CACHE_BYTES / 4) {
      cache.set(entry.ordinal, hit);
      this.postingsCacheBytes += size;
      while (this.postingsCacheBytes > POSTINGS_CACHE_BYTES) {
        const [oldest, v] = cache.entries().next().value as [number, { bytes: Uint8Array; blocks: BlockIndex }];
        cache.delete(oldest);
        this.postingsCacheBytes -= v.bytes.length + v.blocks.lastDocs.length * 13;
      }
    }
    return hit;
  }

  /** Every posting of a term, decoded. */
  postings(entry: TermEntry): { docs: Uint32Array; freqs: Uint32Array } {
    const docs = new Uint32Array(entry.df);
    const freqs = new Uint32Array(entry.df);
    try {
      decodePostings(this.postingsBytes(entry), entry.df, docs, freqs);
    } catch (err) {
      throw corrupt(this.indexDir, `${this.info.name}/postings.bin is damaged at term "${entry.term}"`, err);
    }
    return { docs, freqs };
  }

  /** Dictionary entries in order (for merges). */
  *termEntries(): Generator<TermEntry> {
    for (let b = 0; b * TERMS_PER_BLOCK < this.terms; b++) {
      const start = this.blockOffsets[b];
      const end = b + 1 < this.blockOffsets.length ? this.blockOffsets[b + 1] : this.termsFileBytes;
      const block = decodeTermBlock(this.read(SEGMENT_FILES.terms, start, end - start), Math.min(TERMS_PER_BLOCK, this.terms - b * TERMS_PER_BLOCK));
      for (let i = 0; i < block.terms.length; i++) {
        yield { ordinal: b * TERMS_PER_BLOCK + i, term: block.terms[i], df: block.dfs[i], totalTf: block.cfs[i], offset: block.offsets[i], length: block.lengths[i] };
      }
    }
  }

  /**
   * A document's id. Every hit of every search needs one, so the id files (about 14
   * bytes per document) are read whole on the first call rather than two reads per hit.
   */
  docId(doc: number): string {
    if (this.idBytes === undefined) {
      const offBytes = this.readWhole(SEGMENT_FILES.docIdOffsets);
      const offs = new Uint32Array(this.maxDoc + 1);
      new Uint8Array(offs.buffer).set(offBytes);
      this.idOffsets = offs;
      this.idBytes = this.readWhole(SEGMENT_FILES.docIds);
    }
    return this.idBytes.toString("utf8", this.idOffsets![doc], this.idOffsets![doc + 1]);
  }

  /** Ids of documents [from, to) in two reads (merges). */
  docIdsRange(from: number, to: number): string[] {
    const offBytes = this.read(SEGMENT_FILES.docIdOffsets, from * 4, (to - from + 1) * 4);
    const offs = new Uint32Array(to - from + 1);
    new Uint8Array(offs.buffer).set(offBytes);
    const bytes = this.read(SEGMENT_FILES.docIds, offs[0], offs[to - from] - offs[0]);
    const out: string[] = new Array(to - from);
    for (let i = 0; i < to - from; i++) out[i] = bytes.toString("utf8", offs[i] - offs[0], offs[i + 1] - offs[0]);
    return out;
  }

  /** Compressed bytes of stored block `b` (merges copy them without inflating). */
  storedBlockBytes(b: number): Buffer {
    const r = this.storedBlockRange(b);
    return this.read(SEGMENT_FILES.stored, r.offset, r.length);
  }

  private idBlock(b: number): Array<[string, number]> {
    let block = this.idBlocks.get(b);
    if (block !== undefined) return block;
    const start = this.idBlockOffsets[b];
    const end = b + 1 < this.idBlockOffsets.length ? this.idBlockOffsets[b + 1] : this.idsFileBytes;
    const src = new ByteSource(this.read(SEGMENT_FILES.ids, start, end - start));
    block = [];
    let prev = Buffer.alloc(0);
    while (!src.done) {
      const shared = src.varint();
      const suffix = src.raw(src.varint());
      const bytes = Buffer.concat([prev.subarray(0, shared), suffix]);
      block.push([bytes.toString("utf8"), src.varint()]);
      prev = bytes;
    }
    this.idBlocks.set(b, block);
    return block;
  }

  /** Document number of an id in this segment (deleted or not), or undefined. */
  docOfId(id: string): number | undefined {
    const firsts = this.idBlockFirst;
    if (firsts.length === 0 || compareIdsCodePoint(id, firsts[0]) < 0) return undefined;
    let lo = 0;
    let hi = firsts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareIdsCodePoint(firsts[mid], id) <= 0) lo = mid;
      else hi = mid - 1;
    }
    for (const [x, d] of this.idBlock(lo)) if (x === id) return d;
    return undefined;
  }

  /** (id, doc) in id order (for merges). */
  *idsInOrder(): Generator<[string, number]> {
    for (let b = 0; b < this.idBlockFirst.length; b++) {
      const block = this.idBlock(b);
      for (const e of block) yield e;
    }
  }

  /** Forward vector: term ordinals of the document in order, title terms first. */
  docTerms(doc: number): { ordinals: Uint32Array; titleLength: number } {
    const offs = this.read(SEGMENT_FILES.vectorOffsets, doc * 8, 16, this.scratch);
    const start = offs.readDoubleLE(0);
    const end = offs.readDoubleLE(8);
    const src = new ByteSource(this.read(SEGMENT_FILES.vectors, start, end - start));
    const titleLength = src.varint();
    const n = src.varint();
    const ordinals = new Uint32Array(n);
    for (let i = 0; i < n; i++) ordinals[i] = src.varint();
    return { ordinals, titleLength };
  }

  /** Raw vector bytes of documents [from, to) and their offsets (for merges). */
  vectorRange(from: number, to: number): { bytes: Buffer; offsets: Float64Array } {
    const offBytes = this.read(SEGMENT_FILES.vectorOffsets, from * 8, (to - from + 1) * 8);
    const offsets = new Float64Array(to - from + 1);
    new Uint8Array(offsets.buffer).set(offBytes);
    return { bytes: this.read(SEGMENT_FILES.vectors, offsets[0], offsets[to - from] - offsets[0]), offsets };
  }

  /** Index of the stored block holding `doc`. */
  storedBlockOf(doc: number): number {
    const firsts = this.storedFirstDocs;
    let lo = 0;
    let hi = firsts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (firsts[mid] <= doc) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  get storedBlockCount(): number {
    return this.storedFirstDocs.length;
  }

  storedBlockRange(b: number): { firstDoc: number; count: number; offset: number; length: number } {
    const firstDoc = this.storedFirstDocs[b];
    const next = b + 1 < this.storedFirstDocs.length ? this.storedFirstDocs[b + 1] : this.maxDoc;
    const offset = this.storedOffsets[b];
    const end = b + 1 < this.storedOffsets.length ? this.storedOffsets[b + 1] : this.info.files[SEGMENT_FILES.stored].bytes;
    return { firstDoc, count: next - firstDoc, offset, length: end - offset };
  }

  storedRecords(b: number): string[] {
    let block = this.storedBlocks.get(b);
    if (block !== undefined) return block;
    const r = this.storedBlockRange(b);
    try {
      block = inflateRawSync(this.read(SEGMENT_FILES.stored, r.offset, r.length)).toString("utf8").split("\n");
    } catch (err) {
      throw corrupt(this.indexDir, `${this.info.name}/stored.bin is damaged (block ${b})`, err);
    }
    if (block.length !== r.count) throw corrupt(this.indexDir, `${this.info.name}/stored.bin block ${b} holds ${block.length} documents, not ${r.count}`);
    this.storedBlocks.set(b, block);
    return block;
  }

  storedRecord(doc: number): string {
    const b = this.storedBlockOf(doc);
    return this.storedRecords(b)[doc - this.storedFirstDocs[b]];
  }

  document(doc: number): Document {
    return this.readStored(this.docId(doc), this.storedRecord(doc));
  }

  /** Full CRC-32 check of every file (what open skips for the large ones). */
  verify(): void {
    for (const [name, entry] of Object.entries(this.info.files)) {
      const got = crc32OfFile(join(this.dir, name));
      if (got.bytes !== entry.bytes || got.crc32 !== entry.crc32) throw corrupt(this.indexDir, `${this.info.name}/${name} does not match its checksum`);
    }
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

function decodeTermBlock(bytes: Uint8Array, count: number): TermBlock {
  const src = new ByteSource(bytes);
  let offset = src.varint();
  const terms: string[] = new Array(count);
  const dfs = new Uint32Array(count);
  const cfs = new Float64Array(count);
  const offsets = new Float64Array(count);
  const lengths = new Uint32Array(count);
  let prev = Buffer.alloc(0);
  for (let i = 0; i < count; i++) {
    const shared = src.varint();
    const suffix = src.raw(src.varint());
    const term = shared === 0 ? Buffer.from(suffix) : Buffer.concat([prev.subarray(0, shared), suffix]);
    terms[i] = term.toString("utf8");
    prev = term;
    dfs[i] = src.varint();
    cfs[i] = src.varint();
    lengths[i] = src.varint();
    offsets[i] = offset;
    offset += lengths[i];
  }
  return { terms, dfs, cfs, offsets, lengths };
}
