import { inflateRawSync } from "node:zlib";
import { compareIdsCodePoint } from "../../../core/id-order.js";
import { InvalidInputError } from "../../../core/errors.js";
import { ByteSink, ByteSource } from "./byte-sink.js";
import type { WriteBudget } from "./checksummed-file.js";
import { PostingsEncoder } from "./postings-codec.js";
import { SEGMENT_FILES } from "./segment-files.js";
import type { SegmentReader, TermEntry } from "./segment-reader.js";
import { DictionaryWriter, SegmentWriter, SortedIdWriter, type SegmentInfo } from "./segment-writer.js";

export interface MergeInput {
  reader: SegmentReader;
  /** 1 = deleted; undefined when the segment has no deletions. */
  deleted: Uint8Array | undefined;
  /** Source lines, for naming duplicates found across segments (builds only). */
  lines?: Uint32Array;
}

export interface MergeOptions {
  /** Live documents of different inputs sharing an id: refuse (builds), or keep the later input's (last wins). */
  duplicates: "refuse" | "last-wins";
  fileLabel?: string;
  budget?: WriteBudget;
}

/** Smallest-head k-way merge over sorted iterators; k is a segment count, so a linear scan beats a heap. */
function* kWayMerge<T>(sources: Array<Iterator<T>>, compare: (a: T, b: T) => number): Generator<Array<[number, T]>> {
  const heads: Array<T | undefined> = sources.map((it) => {
    const r = it.next();
    return r.done ? undefined : r.value;
  });
  for (;;) {
    let min: T | undefined;
    for (const h of heads) if (h !== undefined && (min === undefined || compare(h, min) < 0)) min = h;
    if (min === undefined) return;
    const group: Array<[number, T]> = [];
    for (let s = 0; s < heads.length; s++) {
      const h = heads[s];
      if (h !== undefined && compare(h, min) === 0) {
        group.push([s, h]);
        const r = sources[s].next();
        heads[s] = r.done ? undefined : r.value;
      }
    }
    yield group;
  }
}

const byId = (a: [string, number], b: [string, number]) => compareIdsCodePoint(a[0], b[0]);
const byTerm = (a: TermEntry, b: TermEntry) => (a.term < b.term ? -1 : a.term > b.term ? 1 : 0);
const RANGE = 4096;

/**
 * Streams `inputs` (in document order) into one new segment without their deleted
 * documents: a k-way merge of the sorted id lists (duplicates across inputs found here),
 * then of the term dictionaries, postings re-based and re-encoded term by term; stored
 * blocks without deletions are copied compressed. Memory: a doc map (4 bytes per input
 * document), an ordinal map (4 bytes per input term), one term's postings at a time.
 */
export function mergeSegments(dir: string, name: string, inputs: MergeInput[], options: MergeOptions): SegmentInfo {
  // 1. Duplicate ids across inputs: the later input wins or the build is refused.
  const deleted = inputs.map((inp) => inp.deleted?.slice());
  for (const group of kWayMerge(inputs.map((inp) => inp.reader.idsInOrder()), byId)) {
    const live = group.filter(([s, [, d]]) => !deleted[s]?.[d]);
    if (live.length < 2) continue;
    if (options.duplicates === "refuse") {
      const [s0, [id, d0]] = live[0];
      const [s1, [, d1]] = live[live.length - 1];
      const l0 = inputs[s0].lines?.[d0];
      const l1 = inputs[s1].lines?.[d1];
      const where = options.fileLabel && l1 !== undefined ? `${options.fileLabel}:${l1}: ` : "";
      throw new InvalidInputError(`${where}duplicate _id "${id}"${l0 !== undefined ? ` (first at line ${l0})` : ""}; pass --allow-duplicate-ids to keep the last`, { field: "_id", id });
    }
    // The latest source line wins when lines are known (analysis workers interleave chunks), else the latest input.
    let keep = live.length - 1;
    live.forEach(([s, [, d]], i) => {
      const li = inputs[s].lines?.[d];
      const lk = inputs[live[keep][0]].lines?.[live[keep][1][1]];
      if (li !== undefined && lk !== undefined && li > lk) keep = i;
    });
    live.forEach(([s, [, d]], i) => {
      if (i !== keep) (deleted[s] ??= new Uint8Array(inputs[s].reader.maxDoc))[d] = 1;
    });
  }
  // 2. Doc maps: new number of each live input document.
  let next = 0;
  const docMaps = inputs.map((inp, s) => {
    const map = new Int32Array(inp.reader.maxDoc);
    const del = deleted[s];
    for (let d = 0; d < map.length; d++) map[d] = del?.[d] ? -1 : next++;
    return map;
  });
  const n = next;
  const writer = new SegmentWriter(dir, name, options.budget);
  try {
    const files = writer.closeStreamedAfter(() => copyStored(writer, inputs, deleted));
    // 3. Sorted ids and id ranks.
    const idWriter = new SortedIdWriter(writer);
    const rank = new Uint32Array(n);
    let r = 0;
    for (const group of kWayMerge(inputs.map((inp) => inp.reader.idsInOrder()), byId)) {
      for (const [s, [id, d]] of group) {
        const nd = docMaps[s][d];
        if (nd < 0) continue;
        idWriter.add(id, nd);
        rank[nd] = r++;
      }
    }
    Object.assign(files, idWriter.close());
    const rankFile = writer.newFile(SEGMENT_FILES.idRank);
    rankFile.write(new Uint8Array(rank.buffer));
    files[SEGMENT_FILES.idRank] = rankFile.close();

    // 4. Dictionary and postings.
    const ordinalMaps = inputs.map((inp) => new Int32Array(inp.reader.terms).fill(-1));
    const norms = inputs.map((inp) => inp.reader.norms());
    const dict = new DictionaryWriter(writer.newFile(SEGMENT_FILES.terms), writer.newFile(SEGMENT_FILES.termsIndex), writer.newFile(SEGMENT_FILES.postings));
    const enc = new PostingsEncoder();
    let postings = 0;
    for (const group of kWayMerge(inputs.map((inp) => inp.reader.termEntries()), byTerm)) {
      enc.reset();
      for (const [s, entry] of group) {
        const { docs, freqs } = inputs[s].reader.postings(entry);
        const map = docMaps[s];
        const segNorms = norms[s];
        for (let i = 0; i < docs.length; i++) {
          const nd = map[docs[i]];
          if (nd >= 0) enc.add(nd, freqs[i], segNorms[docs[i]]);
        }
      }
      if (enc.count === 0) continue;
      for (const [s, entry] of group) ordinalMaps[s][entry.ordinal] = dict.count;
      postings += enc.count;
      dict.add(group[0][1].term, enc.count, enc.totalTf, enc.finish());
    }
    const terms = dict.count;
    Object.assign(files, dict.close());

    // 5. Norms and forward vectors with ordinals renumbered.
    const normsOut = new Uint8Array(n);
    const vectors = writer.newFile(SEGMENT_FILES.vectors);
    const vectorOffsets = writer.newFile(SEGMENT_FILES.vectorOffsets);
    const off = new Float64Array(1);
    const offBytes = new Uint8Array(off.buffer);
    vectorOffsets.write(offBytes);
    const sink = new ByteSink(1 << 12);
    let docCount = 0;
    let sumTotalTermFreq = 0;
    inputs.forEach((inp, s) => {
      const map = docMaps[s];
      const ordMap = ordinalMaps[s];
      for (let from = 0; from < inp.reader.maxDoc; from += RANGE) {
        const to = Math.min(inp.reader.maxDoc, from + RANGE);
        const { bytes, offsets } = inp.reader.vectorRange(from, to);
        for (let d = from; d < to; d++) {
          const nd = map[d];
          if (nd < 0) continue;
          normsOut[nd] = norms[s][d];
          const src = new ByteSource(bytes, offsets[d - from] - offsets[0]);
          const titleLength = src.varint();
          const len = src.varint();
          sink.reset();
          sink.varint(titleLength);
          sink.varint(len);
          for (let i = 0; i < len; i++) sink.varint(ordMap[src.varint()]);
          if (len > 0) docCount++;
          sumTotalTermFreq += len;
          vectors.write(sink.view());
          off[0] = vectors.bytes;
          vectorOffsets.write(offBytes);
        }
      }
    });
    files[SEGMENT_FILES.vectors] = vectors.close();
    files[SEGMENT_FILES.vectorOffsets] = vectorOffsets.close();
    const normsFile = writer.newFile(SEGMENT_FILES.norms);
    normsFile.write(normsOut);
    files[SEGMENT_FILES.norms] = normsFile.close();
    return { name, maxDoc: n, docCount, sumTotalTermFreq, terms, postings, files };
  } catch (err) {
    writer.abandon();
    throw err;
  }
}

/** Stored fields and ids of live documents, in order: whole blocks copied when nothing in them is deleted. */
function copyStored(writer: SegmentWriter, inputs: MergeInput[], deleted: Array<Uint8Array | undefined>): void {
  inputs.forEach((inp, s) => {
    const reader = inp.reader;
    const del = deleted[s];
    for (let b = 0; b < reader.storedBlockCount; b++) {
      const { firstDoc, count } = reader.storedBlockRange(b);
      if (count === 0) continue;
      const ids = reader.docIdsRange(firstDoc, firstDoc + count);
      let anyDeleted = false;
      if (del) for (let d = firstDoc; d < firstDoc + count; d++) if (del[d]) anyDeleted = true;
      if (!anyDeleted) {
        writer.addStoredBlock(reader.storedBlockBytes(b), count, ids);
        continue;
      }
      const records = inflateRawSync(reader.storedBlockBytes(b)).toString("utf8").split("\n");
      for (let i = 0; i < count; i++) if (!del![firstDoc + i]) writer.addStored(ids[i], records[i]);
    }
  });
}

